//! DNS validation: dns-01 (RFC 8555 §8.4) and the legacy DCV TXT record.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::Va;

impl Va {
    /// Checks a dns-01 challenge: `_acme-challenge.<name>` holds the key authorization's digest.
    pub(crate) async fn dns01(&self, name: &str, key_authz: &str) -> Result<(), String> {
        let expected = URL_SAFE_NO_PAD.encode(digest(&SHA256, key_authz.as_bytes()));
        self.txt_expecting(&format!("_acme-challenge.{name}."), &expected).await
    }

    /// Checks that the TXT record `record` holds `expected` among its values.
    pub async fn dns_txt(&self, record: &str, expected: &str) -> Result<(), String> {
        self.timed(&format!("DNS check of {record}"), self.txt_expecting(record, expected)).await
    }

    async fn txt_expecting(&self, record: &str, expected: &str) -> Result<(), String> {
        let txt = self.resolver()?.txt_lookup(record).await.map_err(|e| format!("TXT lookup of {record}: {e}"))?;
        let values: Vec<String> = txt
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                hickory_resolver::proto::rr::RData::TXT(t) => {
                    Some(t.txt_data.iter().map(|d| String::from_utf8_lossy(d).into_owned()).collect::<String>())
                }
                _ => None,
            })
            .collect();
        if values.iter().any(|v| v == expected) {
            Ok(())
        } else {
            Err(format!("{record} holds {values:?}, not the expected value"))
        }
    }
}
