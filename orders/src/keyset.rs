//! Where the next page of a list read by time and id starts: the place of
//! the last row a page showed. Pages found this way cost the same however
//! long the list (an index is ranged from the place, no rows are skipped
//! over), and a row added meanwhile neither repeats nor hides another. It
//! is written `<at>.<id>` in the customer area's links and in XML-RPC's
//! `suite`.

use std::fmt;

use crate::{OrderError, Result};

/// A row's place in a list read by (time, id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyset {
    /// The row's time, in UTC Unix seconds.
    pub at: i64,
    /// The row's id, which orders rows of the same second.
    pub id: i64,
}

impl Keyset {
    /// The place a link or a call gives: none when `text` is empty (the
    /// first page), a refusal when it is not `<at>.<id>`.
    pub fn parse(text: &str) -> Result<Option<Keyset>> {
        if text.is_empty() {
            return Ok(None);
        }
        text.split_once('.')
            .and_then(|(at, id)| Some(Keyset { at: at.parse().ok()?, id: id.parse().ok()? }))
            .map(Some)
            .ok_or_else(|| OrderError::Invalid(format!("{text:?} is not a page's place (<time>.<id>)")))
    }
}

impl fmt::Display for Keyset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.at, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::Keyset;

    #[test]
    fn a_place_reads_back_as_written_and_nothing_else_reads() {
        let k = Keyset { at: 1_796_620_142, id: 10_007 };
        assert_eq!(Keyset::parse(&k.to_string()).unwrap(), Some(k));
        assert_eq!(Keyset::parse("").unwrap(), None);
        for bad in ["yesterday", "1", "1.", ".2", "1.2.3", "1-2", "99999999999999999999.1"] {
            assert!(Keyset::parse(bad).is_err(), "{bad}");
        }
    }
}
