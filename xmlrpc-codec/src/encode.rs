//! Encoding XML-RPC responses and faults. Empty values are written in
//! expanded form (`<string></string>`), integers as `<int>` when they fit in
//! 32 bits and as `<i8>` only when they do not, dates in the spec's compact form.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::macros::format_description;

use crate::value::Value;

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A reader normalises a raw CR (and CRLF) to LF; a character
            // reference is not normalised, so the CR survives (fuzz finding).
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn write(v: &Value, out: &mut String) {
    out.push_str("<value>");
    match v {
        Value::Int(i) if i32::try_from(*i).is_ok() => out.push_str(&format!("<int>{i}</int>")),
        Value::Int(i) => out.push_str(&format!("<i8>{i}</i8>")),
        Value::Bool(b) => out.push_str(if *b { "<boolean>1</boolean>" } else { "<boolean>0</boolean>" }),
        Value::String(s) => {
            out.push_str("<string>");
            escape(s, out);
            out.push_str("</string>");
        }
        Value::Double(d) => out.push_str(&format!("<double>{d:?}</double>")),
        Value::DateTime(t) => {
            let f = format_description!("[year][month][day]T[hour]:[minute]:[second]");
            out.push_str(&format!("<dateTime.iso8601>{}</dateTime.iso8601>", t.format(f).unwrap_or_default()));
        }
        Value::Base64(b) => out.push_str(&format!("<base64>{}</base64>", STANDARD.encode(b))),
        Value::Struct(members) => {
            out.push_str("<struct>");
            for (k, v) in members {
                out.push_str("<member><name>");
                escape(k, out);
                out.push_str("</name>");
                write(v, out);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>");
            for v in items {
                write(v, out);
            }
            out.push_str("</data></array>");
        }
        Value::Nil => out.push_str("<nil/>"),
    }
    out.push_str("</value>");
}

/// A successful method response carrying `v`.
pub fn response(v: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><params><param>");
    write(v, &mut out);
    out.push_str("</param></params></methodResponse>\n");
    out
}

/// The struct of exactly `faultCode` and `faultString` that a fault carries,
/// also used for each failed entry of a bulk answer or a multicall.
pub fn fault_value(code: i32, message: &str) -> Value {
    Value::Struct(vec![
        ("faultCode".into(), Value::Int(i64::from(code))),
        ("faultString".into(), Value::String(message.into())),
    ])
}

/// A fault response: a struct of exactly `faultCode` and `faultString`.
pub fn fault(code: i32, message: &str) -> String {
    let v = fault_value(code, message);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><fault>");
    write(&v, &mut out);
    out.push_str("</fault></methodResponse>\n");
    out
}

/// A method call, as a client would send it (for tests and tools).
pub fn call(method: &str, params: &[Value]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodCall><methodName>");
    escape(method, &mut out);
    out.push_str("</methodName><params>");
    for p in params {
        out.push_str("<param>");
        write(p, &mut out);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, parse_call};

    #[test]
    fn a_carriage_return_survives_the_round_trip() {
        // Fuzz finding: a raw CR was read back as LF.
        let v = Value::Struct(vec![("a\rb".into(), Value::String("x\r\ny\r".into()))]);
        let body = call("m\rn", std::slice::from_ref(&v));
        let back = parse_call(body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!((back.method.as_str(), back.params), ("m\rn", vec![v]));
    }
}
