//! Decoding an XML-RPC method call. The XML is first flattened into start,
//! end and text tokens (entity references resolved only for the five
//! predefined entities and character references; a DOCTYPE is refused, so
//! nothing else can be defined), then read by a small recursive descent.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use quick_xml::Reader;
use quick_xml::events::Event;

use crate::error::DecodeError;
use crate::value::{Value, parse_datetime};

/// Bounds on what a call may hold.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The largest body, in bytes.
    #[serde(rename = "max_body_bytes")]
    pub max_bytes: usize,
    /// The deepest element nesting.
    pub max_depth: usize,
    /// The most elements in one call.
    pub max_elements: usize,
    /// The most calls one `system.multicall` may carry; the codec leaves it
    /// to the server that runs them.
    pub max_multicall: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_bytes: 1024 * 1024, max_depth: 64, max_elements: 200_000, max_multicall: 100 }
    }
}

/// A decoded method call.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodCall {
    /// The method's name.
    pub method: String,
    /// Its parameters, in order.
    pub params: Vec<Value>,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Start(Name),
    End(Name),
    Text(String),
}

/// An element's name: one of XML-RPC's own names without an allocation (a
/// 1 MiB body holds over 100,000 elements, and each token used to carry a
/// copy of its name), or any other name for the message that refuses it.
type Name = Cow<'static, str>;

const ELEMENTS: &[&str] = &[
    "methodCall",
    "methodName",
    "params",
    "param",
    "value",
    "i4",
    "int",
    "i8",
    "ex:i8",
    "boolean",
    "string",
    "double",
    "dateTime.iso8601",
    "base64",
    "struct",
    "member",
    "name",
    "array",
    "data",
    "nil",
    "ex:nil",
];

fn element(raw: &str) -> Name {
    match ELEMENTS.iter().find(|e| **e == raw) {
        Some(e) => Cow::Borrowed(e),
        None => Cow::Owned(raw.to_string()),
    }
}

fn bad(msg: impl Into<String>) -> DecodeError {
    DecodeError::NotWellFormed(msg.into())
}

fn not_rpc(msg: impl Into<String>) -> DecodeError {
    DecodeError::NotXmlRpc(msg.into())
}

/// The body as text, honouring the declared charset (UTF-8 or ISO-8859-1);
/// UTF-8 is borrowed, not copied.
fn to_text(body: &[u8]) -> Result<Cow<'_, str>, DecodeError> {
    let head = String::from_utf8_lossy(&body[..body.len().min(200)]).to_ascii_lowercase();
    let encoding = head
        .strip_prefix("\u{feff}")
        .unwrap_or(&head)
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|d| d.split("?>").next())
        .and_then(|d| d.split("encoding").nth(1))
        .and_then(|e| e.split(['"', '\'']).nth(1))
        .map(str::to_string);
    match encoding.as_deref() {
        None | Some("utf-8" | "utf8" | "us-ascii" | "ascii") => {
            let s = std::str::from_utf8(body).map_err(|_| bad("the body is not valid UTF-8"))?;
            Ok(Cow::Borrowed(s.trim_start_matches('\u{feff}')))
        }
        // Every ISO-8859-1 byte is the Unicode code point of the same value.
        Some("iso-8859-1" | "latin1" | "latin-1" | "iso8859-1" | "iso_8859-1") => {
            Ok(Cow::Owned(body.iter().map(|b| char::from(*b)).collect()))
        }
        Some(other) => Err(bad(format!("unsupported charset {other:?}; use UTF-8 or ISO-8859-1"))),
    }
}

fn tokens(text: &str, limits: &Limits) -> Result<Vec<Tok>, DecodeError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut elements = 0usize;
    let push_text = |out: &mut Vec<Tok>, s: &str| match out.last_mut() {
        Some(Tok::Text(t)) => t.push_str(s),
        _ => out.push(Tok::Text(s.to_string())),
    };
    loop {
        let event = reader.read_event().map_err(|e| bad(format!("{e} at byte {}", reader.error_position())))?;
        match event {
            Event::Start(s) | Event::Empty(s) if depth >= limits.max_depth => {
                let _ = s;
                return Err(bad(format!("elements nest deeper than {}", limits.max_depth)));
            }
            Event::Start(s) => {
                depth += 1;
                elements += 1;
                out.push(Tok::Start(element(s.name().as_ref())));
            }
            Event::Empty(s) => {
                elements += 1;
                let name = element(s.name().as_ref());
                out.push(Tok::Start(name.clone()));
                out.push(Tok::End(name));
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                out.push(Tok::End(element(e.name().as_ref())));
            }
            Event::Text(t) => push_text(&mut out, &t.xml10_content()),
            Event::CData(c) => push_text(&mut out, &c.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| bad(e.to_string()))? {
                    Some(c) => c.to_string(),
                    None => match r.xml10_content().as_ref() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => return Err(bad(format!("unknown entity &{other}; (entities are never expanded)"))),
                    },
                };
                push_text(&mut out, &resolved);
            }
            Event::DocType(_) => return Err(bad("a DOCTYPE is not allowed")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof if depth > 0 => return Err(bad("the document ends inside an element")),
            Event::Eof => break,
        }
        if elements > limits.max_elements {
            return Err(bad(format!("more than {} elements", limits.max_elements)));
        }
    }
    Ok(out)
}

/// Decodes base64 that may be wrapped over lines and may lack its padding.
fn decode_base64(t: &str) -> Option<Vec<u8>> {
    let mut s: String = t.chars().filter(|c| !c.is_whitespace() && *c != '=').collect();
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    STANDARD.decode(s).ok()
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    /// Skips text between elements (whitespace, or the stray characters some
    /// clients leave there).
    fn skip_text(&mut self) {
        while let Some(Tok::Text(_)) = self.toks.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek_start(&mut self) -> Option<Name> {
        self.skip_text();
        match self.toks.get(self.pos) {
            Some(Tok::Start(n)) => Some(n.clone()),
            _ => None,
        }
    }

    fn expect_start(&mut self, name: &str) -> Result<(), DecodeError> {
        match self.peek_start() {
            Some(n) if n == name => {
                self.pos += 1;
                Ok(())
            }
            other => Err(not_rpc(format!(
                "expected <{name}>, found {}",
                other.map_or("no element".into(), |n| format!("<{n}>"))
            ))),
        }
    }

    fn expect_end(&mut self, name: &str) -> Result<(), DecodeError> {
        self.skip_text();
        match self.toks.get(self.pos) {
            Some(Tok::End(n)) if n == name => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(not_rpc(format!("expected </{name}>"))),
        }
    }

    /// The text of a leaf element whose start tag was just read.
    fn text_until_end(&mut self, name: &str) -> Result<String, DecodeError> {
        let text = match self.toks.get(self.pos) {
            Some(Tok::Text(t)) => {
                self.pos += 1;
                t.clone()
            }
            _ => String::new(),
        };
        match self.toks.get(self.pos) {
            Some(Tok::End(n)) if n == name => {
                self.pos += 1;
                Ok(text)
            }
            _ => Err(not_rpc(format!("<{name}> may only hold text"))),
        }
    }

    fn value(&mut self) -> Result<Value, DecodeError> {
        self.expect_start("value")?;
        // An untyped value is a string, spaces and all.
        if let Some(Tok::Text(t)) = self.toks.get(self.pos)
            && matches!(self.toks.get(self.pos + 1), Some(Tok::End(n)) if n == "value")
        {
            let t = t.clone();
            self.pos += 2;
            return Ok(Value::String(t));
        }
        if let Some(Tok::End(n)) = self.toks.get(self.pos)
            && n == "value"
        {
            self.pos += 1;
            return Ok(Value::String(String::new()));
        }
        let ty = self.peek_start().ok_or_else(|| not_rpc("<value> holds neither text nor a type element"))?;
        self.pos += 1;
        let v = match &*ty {
            "i4" | "int" | "i8" | "ex:i8" => {
                let t = self.text_until_end(&ty)?;
                Value::Int(t.trim().parse().map_err(|_| not_rpc(format!("<{ty}> {t:?} is not an integer")))?)
            }
            "boolean" => match self.text_until_end(&ty)?.trim() {
                "1" | "true" => Value::Bool(true),
                "0" | "false" => Value::Bool(false),
                t => return Err(not_rpc(format!("<boolean> {t:?} is not 0 or 1"))),
            },
            "string" => Value::String(self.text_until_end(&ty)?),
            "double" => {
                let t = self.text_until_end(&ty)?;
                Value::Double(t.trim().parse().map_err(|_| not_rpc(format!("<double> {t:?} is not a number")))?)
            }
            "dateTime.iso8601" => {
                let t = self.text_until_end(&ty)?;
                Value::DateTime(parse_datetime(&t).ok_or_else(|| not_rpc(format!("{t:?} is not a date")))?)
            }
            "base64" => {
                let t = self.text_until_end(&ty)?;
                Value::Base64(decode_base64(&t).ok_or_else(|| not_rpc("<base64> is not base64"))?)
            }
            "nil" | "ex:nil" => {
                self.text_until_end(&ty)?;
                Value::Nil
            }
            "struct" => {
                let mut members: Vec<(String, Value)> = Vec::new();
                while self.peek_start().as_deref() == Some("member") {
                    self.pos += 1;
                    self.expect_start("name")?;
                    let name = self.text_until_end("name")?;
                    let v = self.value()?;
                    self.expect_end("member")?;
                    if members.iter().any(|(k, _)| *k == name) {
                        return Err(not_rpc(format!("struct member {name:?} appears twice")));
                    }
                    members.push((name, v));
                }
                self.expect_end("struct")?;
                Value::Struct(members)
            }
            "array" => {
                self.expect_start("data")?;
                let mut items = Vec::new();
                while self.peek_start().as_deref() == Some("value") {
                    items.push(self.value()?);
                }
                self.expect_end("data")?;
                self.expect_end("array")?;
                Value::Array(items)
            }
            other => return Err(not_rpc(format!("unknown value type <{other}>"))),
        };
        self.expect_end("value")?;
        Ok(v)
    }
}

/// Decodes a method call.
pub fn parse_call(body: &[u8], limits: &Limits) -> Result<MethodCall, DecodeError> {
    if body.len() > limits.max_bytes {
        return Err(bad(format!("the body exceeds {} bytes", limits.max_bytes)));
    }
    let text = to_text(body)?;
    let mut p = Parser { toks: tokens(&text, limits)?, pos: 0 };
    p.expect_start("methodCall")?;
    p.expect_start("methodName")?;
    let method = p.text_until_end("methodName")?.trim().to_string();
    if method.is_empty() {
        return Err(not_rpc("empty methodName"));
    }
    let mut params = Vec::new();
    if p.peek_start().as_deref() == Some("params") {
        p.pos += 1;
        while p.peek_start().as_deref() == Some("param") {
            p.pos += 1;
            params.push(p.value()?);
            p.expect_end("param")?;
        }
        p.expect_end("params")?;
    }
    p.expect_end("methodCall")?;
    p.skip_text();
    if p.pos != p.toks.len() {
        return Err(not_rpc("content after </methodCall>"));
    }
    Ok(MethodCall { method, params })
}
