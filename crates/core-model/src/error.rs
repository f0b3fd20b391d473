use thiserror::Error;

/// What a stage reports when it cannot do its work. The kind decides what the runtime does.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum StageError {
    /// Worth trying again later (network down, server 5xx, database restarting).
    #[error("{0}")]
    Transient(String),
    /// This record can never pass this stage (unparseable page, constraint violation); it goes
    /// to the dead-letter file.
    #[error("{0}")]
    Permanent(String),
    /// The stage's configuration is wrong; reported before the pipeline starts.
    #[error("{0}")]
    Config(String),
}

impl StageError {
    pub fn transient(message: impl Into<String>) -> Self {
        StageError::Transient(message.into())
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        StageError::Permanent(message.into())
    }

    pub fn config(message: impl Into<String>) -> Self {
        StageError::Config(message.into())
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, StageError::Transient(_))
    }
}
