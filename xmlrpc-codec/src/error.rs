/// Why a request body is not an acceptable XML-RPC call. Each maps to the
/// interoperability fault codes: not well formed (-32700) or not XML-RPC (-32600).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The body is not well-formed XML (or not in a supported charset).
    #[error("not well formed: {0}")]
    NotWellFormed(String),
    /// The XML is well formed but not an XML-RPC method call.
    #[error("not an XML-RPC call: {0}")]
    NotXmlRpc(String),
}

impl DecodeError {
    /// The XML-RPC interoperability fault code of this error.
    pub fn fault_code(&self) -> i32 {
        match self {
            DecodeError::NotWellFormed(_) => -32700,
            DecodeError::NotXmlRpc(_) => -32600,
        }
    }
}
