//! Watching the records that leave a stage, without slowing it down.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::Article;

/// Records a stage passes on, offered to whoever watches (`khabar tap`).
///
/// How it is driven: the runtime gives each stage one tap and calls [`Tap::offer`] with every
/// record the stage passes on; watchers call [`Tap::watch`]. While nobody watches, an offer
/// costs one atomic load. A watcher that falls behind loses the oldest records (its receiver
/// reports how many) instead of holding the stage back: the pipeline never waits for a viewer.
#[derive(Clone)]
pub struct Tap {
    sender: broadcast::Sender<Arc<Article>>,
}

impl Tap {
    /// A tap that keeps up to `backlog` records for each watcher that is behind.
    pub fn new(backlog: usize) -> Tap {
        Tap {
            sender: broadcast::channel(backlog.max(1)).0,
        }
    }

    /// Offers a record to the watchers, if any; a copy is made only when somebody watches.
    pub fn offer(&self, article: &Article) {
        if self.sender.receiver_count() > 0 {
            // An error means the last watcher left meanwhile: nobody to tell.
            let _ = self.sender.send(Arc::new(article.clone()));
        }
    }

    /// Starts watching: the receiver gets every record offered from now on, or
    /// `RecvError::Lagged(n)` when it fell `n` records behind.
    pub fn watch(&self) -> broadcast::Receiver<Arc<Article>> {
        self.sender.subscribe()
    }

    /// How many watch now.
    pub fn watchers(&self) -> usize {
        self.sender.receiver_count()
    }
}

impl Default for Tap {
    fn default() -> Self {
        Tap::new(DEFAULT_BACKLOG)
    }
}

/// Records kept for a watcher that is behind, before the oldest are dropped for it.
pub const DEFAULT_BACKLOG: usize = 256;

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap")
            .field("watchers", &self.watchers())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FeedRef, RecordId};
    use tokio::sync::broadcast::error::TryRecvError;

    fn article(n: usize) -> Article {
        let url = format!("https://example.org/{n}");
        Article::new(
            RecordId::from_url(&url),
            FeedRef::default(),
            url,
            chrono::Utc::now(),
        )
    }

    #[test]
    fn a_watcher_sees_what_is_offered_after_it_came_and_a_slow_one_is_told_what_it_lost() {
        let tap = Tap::new(4);
        tap.offer(&article(0));
        let mut watcher = tap.watch();
        assert_eq!(tap.watchers(), 1);
        for n in 1..=10 {
            tap.offer(&article(n));
        }
        assert_eq!(watcher.try_recv().err(), Some(TryRecvError::Lagged(6)));
        let urls: Vec<String> = std::iter::from_fn(|| watcher.try_recv().ok())
            .map(|a| a.url.clone())
            .collect();
        assert_eq!(
            urls,
            (7..=10)
                .map(|n| format!("https://example.org/{n}"))
                .collect::<Vec<_>>()
        );
        drop(watcher);
        assert_eq!(tap.watchers(), 0);
        tap.offer(&article(11));
    }
}
