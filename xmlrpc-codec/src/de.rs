//! A serde bridge from a decoded [`Value`] to a method's typed parameters.
//! Errors carry the path of the member at fault (`demande.ref1.requete.CSR`),
//! so that the front can answer -32602 naming it. It is as lenient as the
//! legacy clients need: an int where a string is expected is written out, a
//! digit string where an int is expected is read, and `nil` is an absent
//! `Option`.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::value::{Value, parse_datetime};

/// Why a parameter does not fit the type a method declares: where the member
/// sits in the call, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ParamError {
    path: String,
    message: String,
    placed: bool,
    /// serde reports a missing member from the struct's visitor, which does
    /// not know where the struct is; the struct's deserializer completes the
    /// path with this name on the way out.
    missing: Option<&'static str>,
}

impl ParamError {
    fn new(message: impl Into<String>) -> ParamError {
        ParamError { path: String::new(), message: message.into(), placed: false, missing: None }
    }

    /// The member's path from the root given to [`from_value`] (`demande.ref1.requete.CSR`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong with the member (`missing`, `expected a string, found struct`...).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Gives the error its place, unless a deeper level already did.
    fn place(mut self, at: &Path<'_>) -> ParamError {
        if !self.placed {
            self.path = match self.missing.take() {
                Some(member) => format!("{at}.{member}"),
                None => at.to_string(),
            };
            self.placed = true;
        }
        self
    }
}

/// A type as XML-RPC names it, for messages clients can act on (serde would say "map" or "sequence").
fn xmlrpc_type(u: &Unexpected<'_>) -> String {
    match u {
        Unexpected::Bool(_) => "boolean".into(),
        Unexpected::Signed(_) | Unexpected::Unsigned(_) => "int".into(),
        Unexpected::Float(_) => "double".into(),
        Unexpected::Char(_) | Unexpected::Str(_) => "string".into(),
        Unexpected::Bytes(_) => "base64".into(),
        Unexpected::Unit | Unexpected::Option => "nil".into(),
        Unexpected::NewtypeStruct => "dateTime.iso8601".into(),
        Unexpected::Seq => "array".into(),
        Unexpected::Map => "struct".into(),
        other => other.to_string(),
    }
}

impl de::Error for ParamError {
    fn custom<T: fmt::Display>(msg: T) -> ParamError {
        ParamError::new(msg.to_string())
    }

    fn missing_field(field: &'static str) -> ParamError {
        ParamError { missing: Some(field), ..ParamError::new("missing") }
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> ParamError {
        ParamError::new(format!("expected {expected}, found {}", xmlrpc_type(&unexpected)))
    }
}

/// Where a value sits in the call, built on the stack as the deserializer
/// descends and written out only when an error needs it.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root(&'a str),
    Member(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Member(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Reads `v` into `T`; `path` names `v` in error messages (`param1`, `demande.ref1`).
pub fn from_value<'de, T: Deserialize<'de>>(v: &'de Value, path: &str) -> Result<T, ParamError> {
    let root = Path::Root(path);
    T::deserialize(De { v, path: &root }).map_err(|e: ParamError| e.place(&root))
}

/// The deserializer over one value at one path.
struct De<'de, 'p> {
    v: &'de Value,
    path: &'p Path<'p>,
}

impl De<'_, '_> {
    fn wrong_type(&self, expected: &str) -> ParamError {
        ParamError::new(format!("expected {expected}, found {}", self.v.type_name())).place(self.path)
    }

    fn int(&self) -> Result<i64, ParamError> {
        match self.v {
            Value::Int(i) => Ok(*i),
            Value::String(s) => {
                s.trim().parse().map_err(|_| ParamError::new(format!("{s:?} is not an integer")).place(self.path))
            }
            _ => Err(self.wrong_type("an int")),
        }
    }
}

/// The integer widths all read the same way; the visitor checks the range.
macro_rules! integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            let i = self.int()?;
            visitor.visit_i64(i).map_err(|e: ParamError| e.place(self.path))
        }
    )*};
}

impl<'de> Deserializer<'de> for De<'de, '_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let out = match self.v {
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Double(d) => visitor.visit_f64(*d),
            // serde has no date type: a date is a newtype struct around its
            // RFC 3339 text, which `DateParam` and `Value` read back.
            Value::DateTime(t) => match t.format(&Rfc3339) {
                Ok(text) => visitor.visit_newtype_struct(text.into_deserializer()),
                Err(e) => Err(ParamError::new(format!("the date cannot be written out: {e}"))),
            },
            Value::Base64(b) => visitor.visit_borrowed_bytes(b),
            Value::Struct(members) => {
                visitor.visit_map(StructAccess { members: members.iter(), next: None, path: self.path })
            }
            Value::Array(items) => visitor.visit_seq(ArrayAccess { items: items.iter().enumerate(), path: self.path }),
            Value::Nil => visitor.visit_unit(),
        };
        out.map_err(|e: ParamError| e.place(self.path))
    }

    integers!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
              deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        // PHP clients send 0 and 1 as ints.
        let b = match self.v {
            Value::Bool(b) => *b,
            Value::Int(0) => false,
            Value::Int(1) => true,
            _ => return Err(self.wrong_type("a boolean")),
        };
        visitor.visit_bool(b).map_err(|e: ParamError| e.place(self.path))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let d = match self.v {
            Value::Double(d) => *d,
            Value::Int(i) => *i as f64,
            _ => return Err(self.wrong_type("a double")),
        };
        visitor.visit_f64(d).map_err(|e: ParamError| e.place(self.path))
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let out = match self.v {
            Value::String(s) => visitor.visit_borrowed_str(s),
            // Sloppy clients send numbers (a SIREN, a reference) as ints.
            Value::Int(i) => visitor.visit_string(i.to_string()),
            _ => return Err(self.wrong_type("a string")),
        };
        out.map_err(|e: ParamError| e.place(self.path))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let out = match self.v {
            Value::Base64(b) => visitor.visit_borrowed_bytes(b),
            Value::String(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
            _ => return Err(self.wrong_type("base64")),
        };
        out.map_err(|e: ParamError| e.place(self.path))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let path = self.path;
        match self.v {
            Value::Nil => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
        .map_err(|e: ParamError| e.place(path))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        match self.v {
            Value::Nil => visitor.visit_unit().map_err(|e: ParamError| e.place(self.path)),
            _ => Err(self.wrong_type("nil")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, ParamError> {
        let path = self.path;
        visitor.visit_newtype_struct(self).map_err(|e: ParamError| e.place(path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        match self.v {
            Value::Array(items) => visitor
                .visit_seq(ArrayAccess { items: items.iter().enumerate(), path: self.path })
                .map_err(|e: ParamError| e.place(self.path)),
            _ => Err(self.wrong_type("an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        match self.v {
            Value::Struct(members) => visitor
                .visit_map(StructAccess { members: members.iter(), next: None, path: self.path })
                .map_err(|e: ParamError| e.place(self.path)),
            _ => Err(self.wrong_type("a struct")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    /// Enums are unit variants spelled as strings (`typeDate: "iso"`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        match self.v {
            Value::String(s) => visitor
                .visit_enum(BorrowedStrDeserializer::<ParamError>::new(s))
                .map_err(|e: ParamError| e.place(self.path)),
            _ => Err(self.wrong_type("a string")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }
}

/// A struct's members, each deserialized at its own path.
struct StructAccess<'de, 'p> {
    members: std::slice::Iter<'de, (String, Value)>,
    next: Option<&'de (String, Value)>,
    path: &'p Path<'p>,
}

impl<'de> MapAccess<'de> for StructAccess<'de, '_> {
    type Error = ParamError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ParamError> {
        let Some(member) = self.members.next() else { return Ok(None) };
        self.next = Some(member);
        seed.deserialize(BorrowedStrDeserializer::new(&member.0)).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, ParamError> {
        let (name, v) = self.next.take().ok_or_else(|| ParamError::new("a member's value was read before its name"))?;
        let path = Path::Member(self.path, name);
        seed.deserialize(De { v, path: &path })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// An array's items, each deserialized at its own index.
struct ArrayAccess<'de, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    path: &'p Path<'p>,
}

impl<'de> SeqAccess<'de> for ArrayAccess<'de, '_> {
    type Error = ParamError;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, ParamError> {
        let Some((i, v)) = self.items.next() else { return Ok(None) };
        let path = Path::Index(self.path, i);
        seed.deserialize(De { v, path: &path }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// A struct whose member names are the client's own keys, such as a bulk
/// `demande` keyed by request references. The members keep their document
/// order, which the answer follows.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyed<T>(pub Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Keyed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Keyed<T>, D::Error> {
        struct KeyedVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for KeyedVisitor<T> {
            type Value = Keyed<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a struct")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keyed<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Keyed(out))
            }
        }
        d.deserialize_map(KeyedVisitor(PhantomData))
    }
}

/// Reads back the RFC 3339 text a date is handed over as (see `deserialize_any`).
fn date_from<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(d)?;
    parse_datetime(&text).ok_or_else(|| de::Error::custom(format!("{text:?} is not a date")))
}

/// Any value, as it was decoded: for parameters a method passes on whole
/// (the calls of `system.multicall`, the requests of a bulk `demande`).
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an XML-RPC value")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
                Ok(Value::Int(i))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
                i64::try_from(u).map(Value::Int).map_err(|_| E::custom(format!("{u} does not fit in an i8")))
            }
            fn visit_f64<E: de::Error>(self, d: f64) -> Result<Value, E> {
                Ok(Value::Double(d))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.to_string()))
            }
            fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Value, E> {
                Ok(Value::Base64(b.to_vec()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Nil)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Nil)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                date_from(d).map(Value::DateTime)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element()? {
                    items.push(v);
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
                Keyed::deserialize(de::value::MapAccessDeserializer::new(map)).map(|Keyed(m)| Value::Struct(m))
            }
        }
        d.deserialize_any(ValueVisitor)
    }
}

/// A date parameter in the form the client sent it: a `dateTime.iso8601`,
/// an int (Unix seconds) or text. Some methods read text by a flag of their
/// own (`typeDate`), so the form is kept for them to decide.
#[derive(Clone, Debug, PartialEq)]
pub enum DateParam {
    /// A `dateTime.iso8601` value.
    DateTime(OffsetDateTime),
    /// An int.
    Int(i64),
    /// A string: digits or an ISO 8601 date, as the method reads it.
    Text(String),
}

impl<'de> Deserialize<'de> for DateParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DateParam, D::Error> {
        struct DateVisitor;
        impl<'de> Visitor<'de> for DateVisitor {
            type Value = DateParam;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date")
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<DateParam, E> {
                Ok(DateParam::Int(i))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<DateParam, E> {
                i64::try_from(u).map(DateParam::Int).map_err(|_| E::custom(format!("{u} is not a date")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DateParam, E> {
                Ok(DateParam::Text(s.to_string()))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<DateParam, D::Error> {
                date_from(d).map(DateParam::DateTime)
            }
        }
        d.deserialize_any(DateVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(members: &[(&str, Value)]) -> Value {
        Value::Struct(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    fn text(s: &str) -> Value {
        Value::String(s.into())
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Requete {
        #[serde(rename = "CSR")]
        csr: String,
        #[serde(rename = "dureeVie")]
        years: Option<i64>,
        #[serde(rename = "domaines")]
        names: Option<Vec<String>>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Request {
        requete: Requete,
        quand: Option<DateParam>,
    }

    #[test]
    fn typed_members_read_with_the_legacy_leniency() {
        let v = st(&[(
            "requete",
            st(&[
                ("CSR", Value::Int(42)),
                ("dureeVie", text(" 2 ")),
                ("domaines", Value::Array(vec![text("a"), Value::Int(7)])),
                ("logiciel", text("ModSSL")),
            ]),
        )]);
        let r: Request = from_value(&v, "demande.r").unwrap();
        let want = Requete { csr: "42".into(), years: Some(2), names: Some(vec!["a".into(), "7".into()]) };
        assert_eq!(r, Request { requete: want, quand: None }, "ints written out, digits read, extras ignored");
        let nil = st(&[("requete", st(&[("CSR", text("x")), ("dureeVie", Value::Nil)])), ("quand", Value::Nil)]);
        let r: Request = from_value(&nil, "p").unwrap();
        assert_eq!((r.requete.years, r.quand), (None, None), "nil is absent");
    }

    #[test]
    fn errors_name_the_member_and_its_whole_path() {
        let cases = [
            (st(&[]), "demande.r1.requete", "missing"),
            (st(&[("requete", st(&[]))]), "demande.r1.requete.CSR", "missing"),
            (st(&[("requete", text("x"))]), "demande.r1.requete", "expected a struct, found string"),
            (st(&[("requete", st(&[("CSR", st(&[]))]))]), "demande.r1.requete.CSR", "expected a string, found struct"),
            (
                st(&[("requete", st(&[("CSR", text("x")), ("dureeVie", text("two"))]))]),
                "demande.r1.requete.dureeVie",
                "\"two\" is not an integer",
            ),
            (
                st(&[("requete", st(&[("CSR", text("x")), ("domaines", Value::Array(vec![text("a"), Value::Nil]))]))]),
                "demande.r1.requete.domaines[1]",
                "expected a string, found nil",
            ),
            (
                st(&[("requete", st(&[("CSR", text("x"))])), ("quand", Value::Bool(true))]),
                "demande.r1.quand",
                "expected a date, found boolean",
            ),
            (text("x"), "demande.r1", "expected a struct, found string"),
        ];
        for (v, path, message) in cases {
            let e = from_value::<Request>(&v, "demande.r1").unwrap_err();
            assert_eq!((e.path(), e.message()), (path, message), "{v:?}");
            assert_eq!(e.to_string(), format!("{path}: {message}"));
        }
    }

    #[test]
    fn values_and_dates_come_through_whole_and_keyed_structs_keep_their_order() {
        let when = parse_datetime("2026-11-25T12:34:56.5Z").unwrap();
        let v = st(&[
            ("z", Value::DateTime(when)),
            ("a", Value::Base64(vec![0, 255])),
            ("m", Value::Array(vec![Value::Nil, Value::Double(1.5), Value::Bool(false), st(&[("k", Value::Int(-1))])])),
        ]);
        let Keyed(members) = from_value::<Keyed<Value>>(&v, "p").unwrap();
        assert_eq!(members.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["z", "a", "m"]);
        assert_eq!(Value::Struct(members), v);
        assert_eq!(from_value::<DateParam>(&Value::DateTime(when), "p").unwrap(), DateParam::DateTime(when));
        assert_eq!(from_value::<DateParam>(&text("17"), "p").unwrap(), DateParam::Text("17".into()));
        assert_eq!(from_value::<DateParam>(&Value::Int(17), "p").unwrap(), DateParam::Int(17));
        let e = from_value::<Keyed<Value>>(&Value::Array(vec![]), "demande").unwrap_err();
        assert_eq!(e.to_string(), "demande: expected a struct, found array");
    }

    #[test]
    fn enums_are_strings_and_range_errors_are_placed() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(rename_all = "lowercase")]
        enum Kind {
            Timestamp,
            Iso,
        }
        #[derive(Debug, Deserialize)]
        struct Opts {
            #[serde(rename = "typeDate")]
            kind: Kind,
            n: Option<u8>,
        }
        let ok: Opts = from_value(&st(&[("typeDate", text("iso")), ("n", Value::Int(3))]), "param1").unwrap();
        assert_eq!((ok.kind, ok.n), (Kind::Iso, Some(3)));
        let e = from_value::<Opts>(&st(&[("typeDate", text("unix"))]), "param1").unwrap_err();
        assert_eq!(e.path(), "param1.typeDate");
        assert!(e.message().contains("unknown variant `unix`"), "{e}");
        let e = from_value::<Opts>(&st(&[("typeDate", text("iso")), ("n", Value::Int(300))]), "param1").unwrap_err();
        assert_eq!(e.path(), "param1.n");
    }
}
