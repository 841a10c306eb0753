//! The errors that end a command with exit code 1.

use crate::sources::{dump, live};

/// Why a command could not do its job (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The dump could not be read.
    #[error(transparent)]
    Dump(#[from] dump::DumpError),
    /// No `--now` and no timestamp in the dump to judge at.
    #[error("{0}: the dump holds no timestamps to judge at; pass --now")]
    NoTime(String),
    /// A named target does not exist.
    #[error("deployment {0}")]
    TargetNotFound(String),
    /// The Kubernetes client cannot be configured.
    #[error(transparent)]
    Live(#[from] live::LiveError),
    /// The cluster could not be listed in time.
    #[error("the cluster was not listed within {timeout}: still listing {kinds}{last_error}")]
    SyncTimeout {
        timeout: String,
        kinds: String,
        last_error: String,
    },
    /// A watch kept failing (or the API server stopped answering) after the first list: the
    /// verdicts could not be brought up to date, and stale ones are not a `check` answer.
    #[error("the cluster could not be read to the end of the check: {0}")]
    Unhealthy(String),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The listen address cannot be bound (or the server failed).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
