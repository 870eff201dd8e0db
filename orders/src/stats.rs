//! Database-wide figures for the metrics endpoint: orders by status and the
//! job queue. They are read at scrape time, so every instance reports the
//! same values and a dashboard takes their maximum.

use storage::{jobs, orders};

use crate::{Orders, Result, Status};

/// What the gauges of `/metrics` show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    /// `(status, count)` for every status, zero included: a status that
    /// empties must read 0, not keep its last count.
    pub orders_by_status: Vec<(String, i64)>,
    /// Jobs waiting to run.
    pub jobs_queued: i64,
    /// Seconds since the oldest waiting job was queued; 0 when none waits.
    pub oldest_job_age_secs: i64,
}

impl Orders {
    /// Reads the gauges.
    pub async fn gauges(&self) -> Result<Gauges> {
        let mut c = self.db().acquire().await?;
        let counted = orders::count_by_status(&mut c).await?;
        let orders_by_status = Status::ALL
            .iter()
            .map(|st| {
                let n = counted.iter().find(|(name, _)| name == st.as_str()).map_or(0, |(_, n)| *n);
                (st.as_str().to_string(), n)
            })
            .collect();
        let (jobs_queued, oldest) = jobs::queue_depth(&mut c).await?;
        let oldest_job_age_secs = oldest.map_or(0, |t| (self.now() - t).max(0));
        Ok(Gauges { orders_by_status, jobs_queued, oldest_job_age_secs })
    }
}
