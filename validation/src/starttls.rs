//! StartTLS: the plain-text exchanges after which a mail, file or database
//! service speaks TLS on the same connection (SMTP RFC 3207, IMAP RFC 9051,
//! POP3 RFC 2595, FTP RFC 4217, XMPP RFC 6120, PostgreSQL's SSLRequest).
//! Every read is bounded, and nothing is read past the service's last word
//! before the TLS handshake.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest line of a service's greeting or reply that is read.
const MAX_LINE: usize = 4096;
/// The most lines of one multi-line reply that are read.
const MAX_LINES: usize = 64;
/// The most bytes of an XMPP stream header and features that are read.
const MAX_XMPP: usize = 16 * 1024;

/// How a scan reaches TLS on a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartTls {
    /// TLS from the first byte.
    None,
    /// SMTP's STARTTLS.
    Smtp,
    /// IMAP's STARTTLS.
    Imap,
    /// POP3's STLS.
    Pop3,
    /// FTP's AUTH TLS.
    Ftp,
    /// XMPP's starttls (client to server).
    Xmpp,
    /// PostgreSQL's SSLRequest.
    Postgres,
}

impl StartTls {
    /// Every way, in display order.
    pub const ALL: [StartTls; 7] = [
        StartTls::None,
        StartTls::Smtp,
        StartTls::Imap,
        StartTls::Pop3,
        StartTls::Ftp,
        StartTls::Xmpp,
        StartTls::Postgres,
    ];

    /// Its word in settings and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            StartTls::None => "none",
            StartTls::Smtp => "smtp",
            StartTls::Imap => "imap",
            StartTls::Pop3 => "pop3",
            StartTls::Ftp => "ftp",
            StartTls::Xmpp => "xmpp",
            StartTls::Postgres => "postgres",
        }
    }

    /// The way a word names.
    pub fn parse(word: &str) -> Option<StartTls> {
        StartTls::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl std::fmt::Display for StartTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Runs the StartTLS exchange of `kind` on a fresh connection.
pub(crate) async fn negotiate(s: &mut TcpStream, kind: StartTls, host: &str) -> Result<(), String> {
    match kind {
        StartTls::None => Ok(()),
        StartTls::Smtp => {
            reply(s, "220").await?;
            s.write_all(b"EHLO certgate.invalid\r\n").await.map_err(|e| e.to_string())?;
            reply(s, "250").await?;
            s.write_all(b"STARTTLS\r\n").await.map_err(|e| e.to_string())?;
            reply(s, "220").await
        }
        StartTls::Ftp => {
            reply(s, "220").await?;
            s.write_all(b"AUTH TLS\r\n").await.map_err(|e| e.to_string())?;
            reply(s, "234").await
        }
        StartTls::Pop3 => {
            expect(&line(s).await?, "+OK")?;
            s.write_all(b"STLS\r\n").await.map_err(|e| e.to_string())?;
            expect(&line(s).await?, "+OK")
        }
        StartTls::Imap => {
            expect(&line(s).await?, "* OK")?;
            s.write_all(b"a1 STARTTLS\r\n").await.map_err(|e| e.to_string())?;
            for _ in 0..MAX_LINES {
                let l = line(s).await?;
                if l.starts_with("a1 ") {
                    return expect(&l, "a1 OK");
                }
            }
            Err("no tagged answer to STARTTLS".into())
        }
        StartTls::Xmpp => {
            let header = format!(
                "<?xml version='1.0'?><stream:stream to='{host}' xmlns='jabber:client' \
                 xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
            );
            s.write_all(header.as_bytes()).await.map_err(|e| e.to_string())?;
            let features = until(s, |tag| is_tag(tag, "features", true)).await?;
            if !features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
                return Err("the server does not offer starttls".into());
            }
            s.write_all(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").await.map_err(|e| e.to_string())?;
            let answer = until(s, |tag| is_tag(tag, "proceed", false) || is_tag(tag, "failure", false)).await?;
            match answer.rfind('<').map(|i| &answer[i..]) {
                Some(tag) if is_tag(tag, "proceed", false) => Ok(()),
                _ => Err("the server refused starttls".into()),
            }
        }
        StartTls::Postgres => {
            // Length 8, then the SSLRequest code 80877103.
            s.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).await.map_err(|e| e.to_string())?;
            match s.read_u8().await.map_err(|e| e.to_string())? {
                b'S' => Ok(()),
                other => Err(format!("the server answered {:?} to SSLRequest", other as char)),
            }
        }
    }
}

fn expect(line: &str, prefix: &str) -> Result<(), String> {
    if line.starts_with(prefix) { Ok(()) } else { Err(format!("expected {prefix:?}, got {:?}", crate::truncate(line))) }
}

/// One line, read a byte at a time so that nothing after it is taken.
async fn line(s: &mut TcpStream) -> Result<String, String> {
    let mut out = Vec::new();
    loop {
        let b = s.read_u8().await.map_err(|e| format!("reading a reply: {e}"))?;
        if b == b'\n' {
            break;
        }
        if out.len() >= MAX_LINE {
            return Err("a reply line is too long".into());
        }
        out.push(b);
    }
    Ok(String::from_utf8_lossy(&out).trim_end_matches('\r').to_string())
}

/// A reply of SMTP or FTP, which must carry `code`: `250-` opens a
/// multi-line reply that the line starting `250 ` ends (FTP's lines in
/// between may say anything, RFC 959).
async fn reply(s: &mut TcpStream, code: &str) -> Result<(), String> {
    let first = line(s).await?;
    expect(&first, code)?;
    if first.as_bytes().get(3) != Some(&b'-') {
        return Ok(());
    }
    let last = format!("{code} ");
    for _ in 0..MAX_LINES {
        if line(s).await?.starts_with(&last) {
            return Ok(());
        }
    }
    Err("a reply of too many lines".into())
}

/// Reads until a tag that `end` accepts has been read (each tag is looked
/// at once, as it closes), and returns all that was read.
async fn until(s: &mut TcpStream, end: impl Fn(&str) -> bool) -> Result<String, String> {
    let mut out = Vec::new();
    let mut tag_start = 0;
    while out.len() < MAX_XMPP {
        let b = s.read_u8().await.map_err(|e| format!("reading the stream: {e}"))?;
        if b == b'<' {
            tag_start = out.len();
        }
        out.push(b);
        if b == b'>' && end(&String::from_utf8_lossy(&out[tag_start..])) {
            return Ok(String::from_utf8_lossy(&out).into_owned());
        }
    }
    Err("the stream's features are too long".into())
}

/// Whether `tag` (`<...>`) is an element `name`, with any namespace prefix:
/// its closing tag when `closing`, else its opening or empty tag; an empty
/// `<name/>` counts as closing too.
fn is_tag(tag: &str, name: &str, closing: bool) -> bool {
    let Some(inner) = tag.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else { return false };
    let (is_close, inner) = match inner.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let empty = inner.ends_with('/');
    let element = inner.trim_end_matches('/').split_whitespace().next().unwrap_or("");
    let local = element.rsplit(':').next().unwrap_or("");
    local == name && if closing { is_close || empty } else { !is_close }
}

#[cfg(test)]
mod tests {
    use super::is_tag;

    #[test]
    fn xmpp_tags_are_told_with_any_prefix() {
        assert!(is_tag("</stream:features>", "features", true));
        assert!(is_tag("</features>", "features", true));
        assert!(is_tag("<stream:features/>", "features", true));
        assert!(!is_tag("<stream:features>", "features", true));
        assert!(is_tag("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", "proceed", false));
        assert!(!is_tag("<proceeding/>", "proceed", false));
    }
}
