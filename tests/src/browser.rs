//! A real browser for the customer area's journeys: Debian's `chromium`,
//! headless, driven through `chromedriver` with the W3C WebDriver protocol
//! (JSON over HTTP on loopback). The client is these few calls rather than a
//! WebDriver crate: the crates at hand would turn on serde_json's
//! `preserve_order` for the whole test build (changing the JSON of the
//! gateway under test) or bring second majors of http and thiserror.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless chromium with one WebDriver session.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

/// The window a browser renders into.
#[derive(Clone, Copy, Debug)]
pub enum Screen {
    /// A desktop window 1280 px wide.
    Desktop,
    /// A phone 390 px wide (mobile emulation: viewport and touch).
    Phone,
}

impl Browser {
    /// Starts chromedriver and a headless chromium, or `None` (saying why)
    /// when they are not installed; under `CI=true` their absence fails.
    pub async fn start(screen: Screen) -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            crate::skipping("chromium and chromedriver are not installed (Debian: chromium chromium-driver)");
            return None;
        }
        let port = crate::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let downloads = tempfile::tempdir().expect("downloads dir");
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = json!({
            "binary": CHROMIUM,
            "prefs": {
                "download.default_directory": downloads.path(),
                "download.prompt_for_download": false,
            },
        });
        match screen {
            Screen::Desktop => args.push("--window-size=1280,900".into()),
            Screen::Phone => {
                options["mobileEmulation"] = json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1.0}});
            }
        }
        options["args"] = json!(args);
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}});
        let mut b = Browser { driver, port, session: String::new(), downloads, _profile: profile };
        // chromedriver takes a moment to listen.
        let mut started = None;
        for _ in 0..100 {
            if let Ok(v) = b.raw("POST", "/session", Some(&caps)).await {
                started = Some(v);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let v = started.expect("chromedriver answers");
        b.session = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
        Some(b)
    }

    /// One WebDriver call; the answer's JSON, or the error when there is no answer.
    async fn raw(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.map_err(|e| e.to_string())?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
        // chromedriver keeps the connection open: read the head, then Content-Length bytes.
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let head_end = loop {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("connection closed: {}", String::from_utf8_lossy(&raw)));
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("no Content-Length: {head}"))?;
        while raw.len() < head_end + length {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        let body = raw.get(head_end..head_end + length).ok_or("a short answer")?;
        serde_json::from_slice(body).map_err(|e| format!("{e}: {}", String::from_utf8_lossy(body)))
    }

    /// A call in the session; panics with WebDriver's error.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let v = self.raw(method, &path, body.as_ref()).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if v["value"].get("error").is_some() {
            panic!("{method} {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url}))).await;
    }

    /// The element that `css` selects (waiting up to 5 s for it).
    pub async fn find(&self, css: &str) -> String {
        for _ in 0..50 {
            let path = format!("/session/{}/element", self.session);
            let body = json!({"using": "css selector", "value": css});
            if let Ok(v) = self.raw("POST", &path, Some(&body)).await
                && let Some(id) = v["value"][ELEMENT].as_str()
            {
                return id.to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} in {}", self.source().await)
    }

    /// How many elements `css` selects now.
    pub async fn count(&self, css: &str) -> usize {
        let v = self.call("POST", "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_array().map_or(0, Vec::len)
    }

    /// Calls `what` on the element `css` selects. An element of the page
    /// being left (a form was just submitted) goes stale: it is found again
    /// in the next page, for up to 5 s.
    async fn on(&self, css: &str, method: &str, what: &str, body: Option<Value>) -> Value {
        for _ in 0..50 {
            let id = self.find(css).await;
            let path = format!("/session/{}/element/{id}{what}", self.session);
            let v = self.raw(method, &path, body.as_ref()).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            // Chromium also says a node of the page being left "does not
            // belong to the document", as an unknown error.
            let gone = v["value"]["message"].as_str().is_some_and(|m| m.contains("does not belong to the document"));
            match v["value"].get("error").and_then(Value::as_str) {
                None => return v["value"].clone(),
                Some("stale element reference") => tokio::time::sleep(Duration::from_millis(100)).await,
                Some(_) if gone => tokio::time::sleep(Duration::from_millis(100)).await,
                Some(_) => panic!("{method} {path}: {}", v["value"]),
            }
        }
        panic!("{css} stayed stale")
    }

    /// Types `text` into the field `css` selects, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        self.on(css, "POST", "/clear", Some(json!({}))).await;
        self.on(css, "POST", "/value", Some(json!({"text": text}))).await;
    }

    /// Clicks what `css` selects.
    pub async fn click(&self, css: &str) {
        self.on(css, "POST", "/click", Some(json!({}))).await;
    }

    /// The visible text of what `css` selects.
    pub async fn text(&self, css: &str) -> String {
        self.on(css, "GET", "/text", None).await.as_str().unwrap_or_default().to_string()
    }

    /// The value of attribute `name` of what `css` selects.
    pub async fn attribute(&self, css: &str, name: &str) -> String {
        self.on(css, "GET", &format!("/attribute/{name}"), None).await.as_str().unwrap_or_default().to_string()
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> String {
        self.call("GET", "/source", None).await.as_str().unwrap_or_default().to_string()
    }

    /// The address of the page shown.
    pub async fn url(&self) -> String {
        self.call("GET", "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    /// Waits up to 5 s for the address to satisfy `wanted` (a submitted
    /// form's next page); the address then.
    pub async fn wait_for_url(&self, wanted: impl Fn(&str) -> bool) -> String {
        for _ in 0..50 {
            let url = self.url().await;
            if wanted(&url) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the address stayed {}", self.url().await)
    }

    /// Waits up to 5 s for the text of what `css` selects to contain `needle`.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        for _ in 0..50 {
            let text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never held {needle:?}: {}", self.source().await)
    }

    /// The page's title.
    pub async fn title(&self) -> String {
        self.call("GET", "/title", None).await.as_str().unwrap_or_default().to_string()
    }

    /// Saves a PNG of the whole viewport to `path` (its directory is made).
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let png = self.call("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap_or_default()).expect("PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("screenshot written");
    }

    /// Waits up to 10 s for a finished download whose name ends with `suffix`.
    pub async fn downloaded(&self, suffix: &str) -> PathBuf {
        for _ in 0..100 {
            let found = std::fs::read_dir(self.downloads.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(suffix));
            if let Some(p) = found {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no download ending {suffix} in {}", self.downloads.path().display())
    }

    /// Ends the session and the browser.
    pub async fn close(self) {
        // Dropping does it.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Even after a failed test: the session's end closes chromium (which
        // a killed chromedriver would leave running), then chromedriver goes.
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                self.session
            );
            let _ = s.write_all(req.as_bytes());
            // The answer's first bytes say the session ended; chromedriver keeps the connection.
            let _ = s.read(&mut [0u8; 1024]);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
