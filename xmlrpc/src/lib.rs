//! The legacy XML-RPC front of certgate: hosting companies' integrations
//! keep their calls (seed 14) and only change the base URL. The codec (its
//! own crate, `certgate-xmlrpc-codec`, re-exported here) reads values on
//! quick-xml, lenient where real clients are sloppy and strict where it
//! matters, and reads parameters into each method's typed struct through
//! serde. The methods authenticate the API user from the first parameter
//! and call the order core (`orders`); faults are mapped in one place
//! (`fault`). Depends on `orders` (and the codec) only: every read and write goes through it.

mod dcv;
mod domains;
pub mod fault;
mod methods;
mod modern;
mod monitoring;
mod server;
mod values;

pub use modern::STATEMENT_LINES;
pub use server::{CalledMethod, XmlRpc};
pub use xmlrpc_codec::{
    DateParam, DecodeError, Keyed, Limits, MethodCall, ParamError, Value, call, fault, fault_value, from_value,
    parse_call, parse_datetime, response,
};
