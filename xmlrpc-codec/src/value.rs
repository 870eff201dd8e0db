//! XML-RPC values.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// One XML-RPC value. Integers of every width are `Int`; untyped values are
/// strings; struct members keep their order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `i4`, `int`, `i8` (and `ex:i8`).
    Int(i64),
    /// `boolean`: 0 or 1.
    Bool(bool),
    /// `string`, or a value without a type element.
    String(String),
    /// `double`.
    Double(f64),
    /// `dateTime.iso8601`, normalised to UTC.
    DateTime(OffsetDateTime),
    /// `base64`, decoded.
    Base64(Vec<u8>),
    /// `struct`, members in document order (names are unique).
    Struct(Vec<(String, Value)>),
    /// `array`.
    Array(Vec<Value>),
    /// `nil` (and `ex:nil`).
    Nil,
}

impl Value {
    /// The member `name` of a struct.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value as a string, for strings only.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Bool(_) => "boolean",
            Value::String(_) => "string",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Base64(_) => "base64",
            Value::Struct(_) => "struct",
            Value::Array(_) => "array",
            Value::Nil => "nil",
        }
    }
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses the date forms clients send: the spec's compact
/// `19980717T14:08:55`, ISO 8601 with dashes (`1998-07-17T14:08:55`), with
/// or without colons, fractions of a second, and `Z` or `±hh:mm` offsets.
/// A time without a zone is UTC. A date whose UTC form falls outside the
/// years 0000 to 9999 is refused: XML-RPC cannot write it back.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    // The fields are cut by byte offsets below, which a multi-byte character
    // would straddle (fuzz finding).
    if !s.is_ascii() {
        return None;
    }
    let (date, rest) = s.split_once(['T', 't', ' ']).unwrap_or((s, "00:00:00"));
    let date: String = date.chars().filter(|c| *c != '-').collect();
    if date.len() != 8 {
        return None;
    }
    let (y, m, d) = (num(&date[..4])?, num(&date[4..6])?, num(&date[6..8])?);
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (clock, nanos) = match clock.split_once(['.', ',']) {
        Some((c, frac)) => {
            let digits: String = frac.chars().take(9).collect();
            let n = num(&digits)? * 10u32.pow(9 - digits.len() as u32);
            (c, n)
        }
        None => (clock, 0),
    };
    let clock: String = clock.chars().filter(|c| *c != ':').collect();
    if clock.len() != 6 {
        return None;
    }
    let (hh, mm, ss) = (num(&clock[..2])?, num(&clock[2..4])?, num(&clock[4..6])?);
    let offset = match offset {
        "" | "Z" | "z" => UtcOffset::UTC,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let digits: String = o[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 {
                return None;
            }
            let (oh, om) = (num(&digits[..2])? as i8, num(&digits[2..])? as i8);
            UtcOffset::from_hms(sign * oh, sign * om, 0).ok()?
        }
    };
    let date = Date::from_calendar_date(y as i32, Month::try_from(m as u8).ok()?, d as u8).ok()?;
    let time = Time::from_hms_nano(hh as u8, mm as u8, ss as u8, nanos).ok()?;
    // `to_offset` panics when the offset carries the date out of time's range
    // (9999-12-31T23:00:00-05:00 is in year 10000).
    let utc = PrimitiveDateTime::new(date, time).assume_offset(offset).checked_to_offset(UtcOffset::UTC)?;
    (0..=9999).contains(&utc.year()).then_some(utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_date_form_parses_to_utc() {
        let expect = OffsetDateTime::from_unix_timestamp(900_684_535).unwrap();
        for s in [
            "19980717T14:08:55",
            "1998-07-17T14:08:55",
            "1998-07-17T14:08:55Z",
            "19980717T140855",
            "1998-07-17T16:08:55+02:00",
            "1998-07-17T09:08:55-0500",
            " 1998-07-17 14:08:55 ",
        ] {
            assert_eq!(parse_datetime(s), Some(expect), "{s}");
        }
        assert_eq!(parse_datetime("1998-07-17T14:08:55.250Z").unwrap().millisecond(), 250);
        assert_eq!(parse_datetime("1998-07-17").unwrap().unix_timestamp(), 900_633_600);
        for bad in ["", "yesterday", "1998-13-01T00:00:00", "19980717T25:00:00", "1998-07-17T14:08:55+2"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_the_fuzzer_broke_are_refused_without_panicking() {
        // A multi-byte character where the fields are cut used to panic.
        for bad in ["1998\u{feff}7", "123é567", "19980717T1é:00", "1998-07-17T14:08:55+0é:00"] {
            assert_eq!(parse_datetime(bad), None, "{bad:?}");
        }
        // Offsets that carry the date out of the years XML-RPC can write.
        assert_eq!(parse_datetime("9999-12-31T23:00:00-05:00"), None, "year 10000 used to panic");
        assert_eq!(parse_datetime("0000-01-01T00:00:00+01:00"), None, "year -1 cannot be written back");
        assert_eq!(parse_datetime("9999-12-31T23:59:59Z").map(|t| t.year()), Some(9999));
        assert_eq!(parse_datetime("0000-01-01T00:00:00Z").map(|t| t.year()), Some(0));
    }
}
