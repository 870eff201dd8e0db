//! The audit record of a front's refused calls: who called which method,
//! from where, and why it was refused. Calls that change something are
//! recorded by the change itself (`Caller::call`), in its transaction.

use storage::audit;

use crate::{Caller, Orders, Result};

impl Orders {
    /// Records a refused call of a front in the audit log: who called
    /// which method (`caller.call`), from where, and why it was refused. A
    /// call that changed something was recorded with the change.
    pub async fn record_call(&self, caller: &Caller, refusal: &str) -> Result<()> {
        let Some(call) = &caller.call else { return Ok(()) };
        let actor = storage::audit::Actor { call: None, ..caller.actor() };
        audit::record(&mut *self.db().acquire_writer().await?, &actor, call, refusal, self.now()).await?;
        Ok(())
    }
}
