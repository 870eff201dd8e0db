//! E-mail: through an SMTP server with TLS (STARTTLS required, or TLS from
//! the start) and authentication, or appended to a private log file.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{Rendered, Settings, SetupError};

/// One message to one recipient.
#[derive(Clone, Debug)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The message, rendered in the recipient's language.
    pub rendered: Rendered,
    /// A `Message-ID` that names the event and recipient, so that a
    /// message sent again after a crash can be recognised.
    pub message_id: String,
    /// A file to attach: its name and PEM text (a delivered certificate).
    pub attachment: Option<(String, String)>,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Refused for good (a 5xx answer, a bad address): trying again will not help.
    #[error("refused: {0}")]
    Permanent(String),
    /// Failed this time (connection, TLS, timeout, a 4xx answer).
    #[error("{0}")]
    Transient(String),
}

/// Where e-mail goes.
pub enum Mailer {
    /// An SMTP server.
    Smtp {
        /// The connection to it (a pool).
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The sender.
        from: Mailbox,
    },
    /// A file that messages are appended to, created private.
    LogFile {
        /// The file.
        path: PathBuf,
        /// The sender.
        from: Mailbox,
    },
}

impl Mailer {
    /// The mailer the settings describe, or `None` when e-mail is off.
    pub fn new(settings: &Settings, timeout: Duration) -> Result<Option<Mailer>, SetupError> {
        let from: Mailbox = settings.from.parse().map_err(|e| SetupError::Smtp(format!("from: {e}")))?;
        if let Some(url) = &settings.smtp_url {
            let transport = smtp(url, settings.smtp_ca_file.as_ref(), timeout)?;
            return Ok(Some(Mailer::Smtp { transport, from }));
        }
        Ok(settings.log_file.clone().map(|path| Mailer::LogFile { path, from }))
    }

    /// Sends `email`; returns the server's answer (or where it was written).
    pub async fn send(&self, email: &Email) -> Result<String, MailError> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::LogFile { from, .. } => from.clone(),
        };
        let message = message(from, email)?;
        match self {
            Mailer::Smtp { transport, .. } => match transport.send(message).await {
                Ok(answer) => {
                    let text = answer.message().collect::<Vec<_>>().join(" ");
                    Ok(format!("{} {text}", answer.code()))
                }
                Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
                Err(e) => Err(MailError::Transient(e.to_string())),
            },
            Mailer::LogFile { path, .. } => {
                use tokio::io::AsyncWriteExt as _;
                let mut file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(path)
                    .await
                    .map_err(|e| MailError::Transient(format!("{}: {e}", path.display())))?;
                let mut text = message.formatted();
                text.extend_from_slice(b"\r\n");
                // tokio hands the write to a thread: flushed, it is done
                // before the delivery is recorded.
                let written = async { file.write_all(&text).await.and(file.flush().await) };
                written.await.map_err(|e| MailError::Transient(format!("{}: {e}", path.display())))?;
                Ok(format!("written to {}", path.display()))
            }
        }
    }
}

/// The message of `email` from `from`: plain text and HTML (plain text
/// alone when it has no HTML), and the attachment.
fn message(from: Mailbox, email: &Email) -> Result<Message, MailError> {
    let to: Mailbox = email.to.parse().map_err(|e| MailError::Permanent(format!("address {:?}: {e}", email.to)))?;
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(email.rendered.subject.clone())
        .message_id(Some(email.message_id.clone()));
    let text = SinglePart::plain(email.rendered.text.clone());
    let body = match (email.rendered.html.is_empty(), &email.attachment) {
        (true, None) => return builder.singlepart(text).map_err(|e| MailError::Permanent(e.to_string())),
        (true, Some(_)) => MultiPart::mixed().singlepart(text),
        (false, _) => MultiPart::alternative_plain_html(email.rendered.text.clone(), email.rendered.html.clone()),
    };
    let body = match &email.attachment {
        None => body,
        Some((name, pem)) => {
            let kind = ContentType::parse("application/x-pem-file").map_err(|e| MailError::Permanent(e.to_string()))?;
            let attachment = Attachment::new(name.clone()).body(pem.clone(), kind);
            if email.rendered.html.is_empty() {
                body.singlepart(attachment)
            } else {
                MultiPart::mixed().multipart(body).singlepart(attachment)
            }
        }
    };
    builder.multipart(body).map_err(|e| MailError::Permanent(e.to_string()))
}

/// An SMTP transport for `url`: `smtp://` requires STARTTLS, `smtps://` is
/// TLS from the start; a user and password in the URL authenticate. There
/// is no plain-text mode: credentials and certificates never travel in clear.
fn smtp(
    url: &str,
    ca_file: Option<&PathBuf>,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, SetupError> {
    let bad = |detail: String| SetupError::Smtp(detail);
    let u = url::Url::parse(url).map_err(|e| bad(format!("{e}")))?;
    let host = u.host_str().ok_or_else(|| bad("no host".into()))?.to_string();
    let mut tls = TlsParameters::builder(host.clone());
    if let Some(path) = ca_file {
        let fail = |detail: String| SetupError::CaFile { path: path.display().to_string(), detail };
        let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| fail(e.to_string()))?);
    }
    let tls = tls.build_rustls().map_err(|e| bad(format!("TLS: {e}")))?;
    let (tls, port) = match u.scheme() {
        "smtp" => (Tls::Required(tls), 587),
        "smtps" => (Tls::Wrapper(tls), 465),
        other => return Err(bad(format!("scheme {other:?}: use smtp:// (STARTTLS) or smtps://"))),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(u.port().unwrap_or(port))
        .tls(tls)
        .timeout(Some(timeout));
    if !u.username().is_empty() {
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let password = decode(u.password().unwrap_or_default());
        builder = builder.credentials(Credentials::new(decode(u.username()), password));
    }
    Ok(builder.build())
}
