//! Typed access to call parameters. A missing or mistyped member is a
//! -32602 fault naming its whole path (`demande.ref1.requete.CSR`).

use crate::Value;
use crate::fault::Fault;

/// A parameter value and where it sits in the call.
#[derive(Clone, Copy)]
pub(crate) struct Arg<'a> {
    pub v: &'a Value,
    pub path: &'a str,
}

impl<'a> Arg<'a> {
    /// The member `name` of this struct, with its path.
    pub fn member(&self, name: &str) -> Result<(Value, String), Fault> {
        match self.v {
            Value::Struct(_) => self
                .v
                .get(name)
                .cloned()
                .map(|v| (v, format!("{}.{name}", self.path)))
                .ok_or_else(|| Fault::params(&format!("{}.{name}", self.path), "missing")),
            other => Err(Fault::params(self.path, &format!("expected a struct, found {}", other.type_name()))),
        }
    }

    /// The member `name`, if present.
    pub fn opt(&self, name: &str) -> Option<&'a Value> {
        self.v.get(name).filter(|v| !matches!(v, Value::Nil))
    }

    /// The members of this struct.
    pub fn members(&self) -> Result<&'a [(String, Value)], Fault> {
        match self.v {
            Value::Struct(m) => Ok(m),
            other => Err(Fault::params(self.path, &format!("expected a struct, found {}", other.type_name()))),
        }
    }
}

/// A string member (integers are accepted and written out, as sloppy clients send them).
pub(crate) fn string(parent: Arg<'_>, name: &str) -> Result<String, Fault> {
    let (v, path) = parent.member(name)?;
    match v {
        Value::String(s) => Ok(s),
        Value::Int(i) => Ok(i.to_string()),
        other => Err(Fault::params(&path, &format!("expected a string, found {}", other.type_name()))),
    }
}

/// An optional string member.
pub(crate) fn opt_string(parent: Arg<'_>, name: &str) -> Option<String> {
    match parent.opt(name) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Int(i)) => Some(i.to_string()),
        _ => None,
    }
}

/// An integer member (digit strings are accepted).
pub(crate) fn int(parent: Arg<'_>, name: &str) -> Result<i64, Fault> {
    let (v, path) = parent.member(name)?;
    match v {
        Value::Int(i) => Ok(i),
        Value::String(s) => s.trim().parse().map_err(|_| Fault::params(&path, &format!("{s:?} is not an integer"))),
        other => Err(Fault::params(&path, &format!("expected an int, found {}", other.type_name()))),
    }
}
