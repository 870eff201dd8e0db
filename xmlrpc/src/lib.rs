//! The legacy XML-RPC front of certgate. This crate holds, so far, its codec:
//! XML-RPC values decoded from and encoded to XML on quick-xml's event reader,
//! lenient where real clients are sloppy (stray text, untyped values, every
//! date form, ISO-8859-1) and strict where it matters (no DOCTYPE, no entity
//! expansion, bounded depth, duplicate members refused). The methods, which
//! will call the order core (`orders`), come with issue 4.

mod decode;
mod encode;
mod error;
mod value;

pub use decode::{Limits, MethodCall, parse_call};
pub use encode::{call, fault, response};
pub use error::DecodeError;
pub use value::{Value, parse_datetime};
