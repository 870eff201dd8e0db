//! Domain control validation of orders whose names are not pre-validated
//! (seed 5.1.1 "The DCV validation"): the order waits, paid, holding a
//! random token the customer publishes; once a validation authority has
//! seen it for every name, `complete_dcv` queues the issuance.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use storage::orders;

use crate::names::order_names;
use crate::{Caller, OrderError, Orders, Result, Right, Status};

/// What the customer must publish for an order waiting for DCV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dcv {
    /// The order's reference.
    pub reference: String,
    /// The value to publish.
    pub token: String,
    /// The names that need it (those not under a pre-validated domain).
    pub names: Vec<String>,
}

/// A fresh DCV token: 24 random bytes, base64url.
pub(crate) fn new_token() -> String {
    let mut b = [0u8; 24];
    aws_lc_rs::rand::fill(&mut b).expect("system random source");
    URL_SAFE_NO_PAD.encode(b)
}

impl Orders {
    /// The DCV an order of the caller's account is waiting for.
    pub async fn dcv(&self, caller: &Caller, reference: &str) -> Result<Dcv> {
        caller.require(Right::Technical)?;
        let o = self.order(caller, reference).await?;
        let token = match (&o.dcv_token, o.status == Status::WaitingDcv.as_str()) {
            (Some(t), true) => t.clone(),
            _ => {
                return Err(OrderError::WrongState {
                    reference: reference.to_string(),
                    status: o.status.clone(),
                    expected: Status::WaitingDcv.as_str().into(),
                });
            }
        };
        let names = self.names_needing_dcv(o.organisation_id, &order_names(&o)).await?;
        Ok(Dcv { reference: reference.to_string(), token, names })
    }

    /// Gives an order that starts waiting for DCV its token.
    pub(crate) async fn start_dcv(tx: &mut storage::Conn, order_id: i64) -> Result<()> {
        orders::set_dcv_token(tx, order_id, &new_token()).await?;
        Ok(())
    }
}
