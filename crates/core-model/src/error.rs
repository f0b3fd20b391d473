use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// What the runtime does with a failed record or stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Worth trying again later (network down, server 5xx, database restarting).
    Transient,
    /// This record can never pass this stage (unparseable page, constraint violation); it goes
    /// to the dead-letter file.
    Permanent,
    /// The stage's configuration is wrong; reported before the pipeline starts.
    Config,
}

/// A cause kept behind an error, shareable because records (and their errors) are cloned on
/// fan-out.
pub type Cause = Arc<dyn StdError + Send + Sync + 'static>;

/// What a stage reports when it cannot do its work. The kind decides what the runtime does;
/// the message says what the stage was doing, and the cause (when there is one) says why.
///
/// `Display` prints the message followed by every cause in the chain (`PostgreSQL write:
/// db error: permission denied for table articles`), so a log line never stops at a
/// library's vague outermost text.
#[derive(Debug, Clone)]
pub struct StageError {
    kind: ErrorKind,
    message: String,
    cause: Option<Cause>,
}

impl StageError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StageError {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    /// An error worth retrying later (network trouble, a busy server).
    pub fn transient(message: impl Into<String>) -> Self {
        StageError::new(ErrorKind::Transient, message)
    }

    /// An error retrying will not cure (a malformed page, a refused record).
    pub fn permanent(message: impl Into<String>) -> Self {
        StageError::new(ErrorKind::Permanent, message)
    }

    /// A stage whose settings cannot work (a bad path, a missing credential): it is not built.
    pub fn config(message: impl Into<String>) -> Self {
        StageError::new(ErrorKind::Config, message)
    }

    /// Keeps `cause` behind this error (its whole chain is printed and reachable through
    /// [`std::error::Error::source`]).
    pub fn with_cause(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// Same, for a cause already shared.
    pub fn with_shared_cause(mut self, cause: Cause) -> Self {
        self.cause = Some(cause);
        self
    }

    /// Whether retrying can help.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What the stage was doing, without the causes.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for [`ErrorKind::Transient`].
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }

    /// True for [`ErrorKind::Permanent`].
    pub fn is_permanent(&self) -> bool {
        self.kind == ErrorKind::Permanent
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(cause) = &self.cause {
            let chain = error_chain(cause.as_ref());
            // A message built from the cause's text already says it.
            if !self.message.contains(&chain) {
                write!(f, ": {chain}")?;
            }
        }
        Ok(())
    }
}

impl StdError for StageError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn StdError + 'static))
    }
}

impl PartialEq for StageError {
    /// Two errors are the same when they say the same thing of the same kind.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.to_string() == other.to_string()
    }
}

impl Eq for StageError {}

/// An error and every cause behind it, `outer: inner: innermost`, each text once: libraries
/// often print their cause inside their own message, and some (tokio-postgres's "db error")
/// say nothing until the chain is read.
pub fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    // A chain is short; the bound keeps a cyclic `source` from looping for ever.
    let mut depth = 0;
    while let Some(cause) = next {
        depth += 1;
        if depth > 16 {
            break;
        }
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("db error")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_whole_cause_chain_is_printed_once() {
        let cause = Outer(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "permission denied for table articles",
        ));
        let error = StageError::transient("PostgreSQL write").with_cause(cause);
        assert_eq!(
            error.to_string(),
            "PostgreSQL write: db error: permission denied for table articles"
        );
        assert!(error.source().is_some());
        assert!(error.is_transient());
        let plain = StageError::permanent("HTTP 404");
        assert_eq!(plain.to_string(), "HTTP 404");
        assert!(plain.source().is_none());
    }
}
