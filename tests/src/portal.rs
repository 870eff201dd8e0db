//! A small HTTP client for the customer area's tests: requests with
//! cookies and forms (URL-encoded or multipart), answers with their headers,
//! and signing in through the sign-in form.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An answer: status, headers (lower-case names) and body.
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// The body as sent.
    pub bytes: Vec<u8>,
}

impl Answer {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value a `Set-Cookie` gives `name`, with the whole header.
    pub fn cookie(&self, name: &str) -> Option<(String, String)> {
        self.headers.iter().filter(|(k, _)| k == "set-cookie").find_map(|(_, v)| {
            let value = v.split(';').next()?.strip_prefix(&format!("{name}="))?;
            Some((value.to_string(), v.clone()))
        })
    }

    /// The value of the form field `csrf` in the page.
    pub fn csrf(&self) -> String {
        let at = self.body.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

/// Sends one request to `base` with `cookies` and, for a POST, a form body.
pub async fn send(base: &str, method: &str, path: &str, cookies: &[(&str, &str)], form: Option<&str>) -> Answer {
    send_from(base, None, method, path, cookies, form).await
}

/// As [`send`], from a page of `origin` when given (its `Origin` header).
pub async fn send_from(
    base: &str,
    origin: Option<&str>,
    method: &str,
    path: &str,
    cookies: &[(&str, &str)],
    form: Option<&str>,
) -> Answer {
    let body = form.map(|f| ("application/x-www-form-urlencoded".to_string(), f.as_bytes().to_vec()));
    request(base, origin, method, path, cookies, body).await
}

/// Posts a multipart form of text `fields` and `files` (name, file name, content).
pub async fn send_multipart(
    base: &str,
    path: &str,
    cookies: &[(&str, &str)],
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Answer {
    let boundary = "certgate-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    for (name, file, content) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(content);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    request(base, None, "POST", path, cookies, Some((content_type, body))).await
}

/// Sends one HTTP/1.1 request over a new connection and reads the whole answer.
pub async fn request(
    base: &str,
    origin: Option<&str>,
    method: &str,
    path: &str,
    cookies: &[(&str, &str)],
    body: Option<(String, Vec<u8>)>,
) -> Answer {
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let cookie = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(o) = origin {
        req.push_str(&format!("Origin: {o}\r\n"));
    }
    if !cookie.is_empty() {
        req.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    let mut raw_req = Vec::new();
    if let Some((content_type, body)) = &body {
        req.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    raw_req.extend(req.bytes());
    if let Some((_, body)) = &body {
        raw_req.extend_from_slice(body);
    }
    s.write_all(&raw_req).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let bytes = raw.get(split + 4..).unwrap_or_default().to_vec();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).to_string(), bytes }
}

/// Signs `login` in; the session cookie's value.
pub async fn sign_in(base: &str, login: &str, password: &str) -> Answer {
    sign_in_with_code(base, login, password, "").await
}

/// Signs `login` in with a second-factor `code`.
pub async fn sign_in_with_code(base: &str, login: &str, password: &str, code: &str) -> Answer {
    let form = send(base, "GET", "/portal/sign-in", &[], None).await;
    let (token, _) = form.cookie("certgate_sign_in").expect("the sign-in form's cookie");
    let body = format!("csrf={}&login={login}&password={}&code={code}", form.csrf(), password.replace(' ', "+"));
    send(base, "POST", "/portal/sign-in", &[("certgate_sign_in", &token)], Some(&body)).await
}

/// The text of the element with `id` in a page (a `<code id=...>`).
pub fn by_id(body: &str, id: &str) -> String {
    let at = body.find(&format!(r#"id="{id}">"#)).unwrap_or_else(|| panic!("no #{id} in {body}")) + id.len() + 6;
    body[at..].split('<').next().unwrap().to_string()
}
