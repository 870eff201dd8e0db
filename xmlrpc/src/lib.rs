//! The legacy XML-RPC front of certgate: hosting companies' integrations
//! keep their calls (seed 14) and only change the base URL. The codec reads
//! values on quick-xml's event reader, lenient where real clients are sloppy
//! (stray text, untyped values, every date form, ISO-8859-1) and strict where
//! it matters (no DOCTYPE, no entity expansion, bounded size and depth,
//! duplicate members refused). The methods authenticate the API user from
//! the first parameter and call the order core (`orders`); faults are mapped
//! in one place (`fault`). Depends on `orders` and `storage` only.

mod args;
mod dcv;
mod decode;
mod encode;
mod error;
pub mod fault;
mod methods;
mod modern;
mod server;
mod value;

pub use decode::{Limits, MethodCall, parse_call};
pub use encode::{call, fault, response};
pub use error::DecodeError;
pub use server::XmlRpc;
pub use value::{Value, parse_datetime};
