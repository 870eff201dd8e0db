//! certgate's XML-RPC codec, on quick-xml's event reader: values, call
//! decoding (lenient where real clients are sloppy, strict on DOCTYPEs,
//! entities, size and depth), response encoding, and a serde bridge that
//! reads a decoded value into a typed parameter struct. It stands alone
//! (quick-xml, serde, base64, time, thiserror) so that the fuzz targets build
//! quickly; the `xmlrpc` front re-exports it.

mod de;
mod decode;
mod encode;
mod error;
mod value;

pub use de::{DateParam, Keyed, ParamError, from_value};
pub use decode::{Limits, MethodCall, parse_call};
pub use encode::{call, fault, fault_value, response};
pub use error::DecodeError;
pub use value::{Value, parse_datetime};
