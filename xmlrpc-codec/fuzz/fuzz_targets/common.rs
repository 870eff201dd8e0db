//! What both targets share: equality of decoded values up to what the
//! encoding is documented to drop.

use certgate_xmlrpc_codec::Value;

/// Equal values, except that NaN equals NaN (a NaN double round-trips as
/// NaN, which `==` never equals) and dates compare to the second (the
/// encoder writes the spec's compact form, which has no fractions).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::DateTime(x), Value::DateTime(y)) => x.unix_timestamp() == y.unix_timestamp(),
        (Value::Struct(x), Value::Struct(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(vx, vy)| same(vx, vy)),
        _ => a == b,
    }
}
