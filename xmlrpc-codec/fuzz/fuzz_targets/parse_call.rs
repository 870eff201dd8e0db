//! No input makes the call parser panic. What it accepts, the encoder writes
//! back in a form that decodes to the same call.

#![no_main]

mod common;

use certgate_xmlrpc_codec::{Limits, Value, call, from_value, parse_call};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(decoded) = parse_call(data, &limits) else { return };
    // The encoder writes every value typed (`<value>x</value>` becomes
    // `<value><string>x</string></value>`), one level and one element more
    // per leaf, so the bounds of the second reading are widened by that.
    let wider = Limits {
        max_bytes: usize::MAX,
        max_depth: limits.max_depth + 1,
        max_elements: 2 * limits.max_elements,
        ..limits
    };
    let body = call(&decoded.method, &decoded.params);
    let again = match parse_call(body.as_bytes(), &wider) {
        Ok(c) => c,
        Err(e) => panic!("a decoded call, written out, does not decode: {e}\n{body}"),
    };
    assert_eq!(again.method, decoded.method);
    assert_eq!(again.params.len(), decoded.params.len());
    for (a, b) in again.params.iter().zip(&decoded.params) {
        assert!(common::same(a, b), "{b:?} came back as {a:?}\n{body}");
    }
    for p in &decoded.params {
        let _: Value = from_value(p, "p").expect("every decoded value reads as a Value");
    }
});
