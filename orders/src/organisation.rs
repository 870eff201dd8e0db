//! An organisation as the order core hands it out; made from the storage
//! row, which stays inside the order core.

use storage::organisations::OrganisationRow;

/// An organisation of an account: who a certificate is issued to.
#[derive(Clone, Debug)]
pub struct Organisation {
    /// The organisation's database identifier.
    pub id: i64,
    /// The account the organisation belongs to.
    pub account_id: i64,
    /// The organisation's legal name.
    pub name: String,
    /// National identification number (SIREN, company number...).
    pub ident: String,
    /// Its country code, such as `FR`; empty when not given.
    pub country: String,
    /// Its postal address; empty when not given.
    pub address: String,
    /// Its VAT number; empty when not given.
    pub vat: String,
    /// When the organisation was created, in UTC Unix seconds.
    pub created_at: i64,
}

impl From<OrganisationRow> for Organisation {
    fn from(r: OrganisationRow) -> Organisation {
        Organisation {
            id: r.id,
            account_id: r.account_id,
            name: r.name,
            ident: r.ident,
            country: r.country,
            address: r.address,
            vat: r.vat,
            created_at: r.created_at,
        }
    }
}
