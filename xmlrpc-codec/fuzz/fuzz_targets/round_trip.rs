//! Every value the server may write reads back as the same value: an
//! arbitrary `Value` is encoded as a call, decoded, and compared; it also
//! comes through the serde bridge whole.

#![no_main]

mod common;

use arbitrary::{Result, Unstructured};
use certgate_xmlrpc_codec::{Keyed, Limits, Value, call, from_value, parse_call};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

/// The dates XML-RPC can carry: years 0000 to 9999, whole seconds, UTC.
fn datetime(u: &mut Unstructured<'_>) -> Result<OffsetDateTime> {
    let seconds = u.int_in_range(-62_167_219_200..=253_402_300_799)?;
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// An arbitrary value at most `depth` levels deep; struct members are
/// unique, as the decoder requires.
fn value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kinds = if depth == 0 { 6 } else { 8 };
    Ok(match u.int_in_range(0..=kinds)? {
        0 => Value::Int(u.arbitrary()?),
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::String(u.arbitrary()?),
        3 => Value::Double(u.arbitrary()?),
        4 => Value::DateTime(datetime(u)?),
        5 => Value::Base64(u.arbitrary()?),
        6 => Value::Nil,
        7 => {
            let mut members: Vec<(String, Value)> = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                let name: String = u.arbitrary()?;
                if !members.iter().any(|(k, _)| *k == name) {
                    members.push((name, value(u, depth - 1)?));
                }
            }
            Value::Struct(members)
        }
        _ => Value::Array((0..u.int_in_range(0..=4)?).map(|_| value(u, depth - 1)).collect::<Result<_>>()?),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(params) = (0..3).map(|_| value(&mut u, 6)).collect::<Result<Vec<Value>>>() else { return };
    let body = call("m", &params);
    let decoded = match parse_call(body.as_bytes(), &Limits::default()) {
        Ok(c) => c,
        Err(e) => panic!("what the encoder wrote does not decode: {e}\n{body}"),
    };
    assert_eq!(decoded.method, "m");
    assert_eq!(decoded.params.len(), params.len());
    for (back, sent) in decoded.params.iter().zip(&params) {
        assert!(common::same(back, sent), "{sent:?} came back as {back:?}\n{body}");
    }
    for p in &params {
        let through_serde: Value = from_value(p, "p").expect("every value reads as a Value");
        assert_eq!(format!("{through_serde:?}"), format!("{p:?}"), "serde bridge");
        if let Value::Struct(members) = p {
            let Keyed(keyed) = from_value::<Keyed<Value>>(p, "p").expect("a struct reads as Keyed");
            assert_eq!(format!("{keyed:?}"), format!("{members:?}"), "Keyed keeps members and order");
        }
    }
});
