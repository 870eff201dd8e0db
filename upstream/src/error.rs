/// Why an upstream call failed, split by what the job should do next.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Worth retrying later: the network, a 5xx, a rate limit.
    #[error("upstream {upstream} temporarily failed: {detail}")]
    Transient {
        /// The configured name of the upstream that failed.
        upstream: String,
        /// What went wrong, for logs and the job's last error.
        detail: String,
    },
    /// Retrying will not help: the request itself was refused.
    #[error("upstream {upstream} refused: {detail}")]
    Final {
        /// The configured name of the upstream that refused.
        upstream: String,
        /// Why it refused, for logs and the order's failure.
        detail: String,
    },
}

impl UpstreamError {
    /// True when retrying cannot succeed.
    pub fn is_final(&self) -> bool {
        matches!(self, UpstreamError::Final { .. })
    }
}
