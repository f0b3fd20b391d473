//! Thread CPU time of a stage's own calls, for the per-stage `cpu_ms` figure.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};

use khabar_core_model::StageCounters;

/// CPU time the calling thread has used so far, in nanoseconds (0 where the platform cannot
/// say: the figure is then missing, never wrong).
pub(crate) fn thread_nanos() -> u64 {
    cpu_time::ThreadTime::try_now()
        .map(|t| u64::try_from(t.as_duration().as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Runs `work` and adds the CPU time it took on this thread to `counter`.
pub(crate) fn timed<T>(counter: &AtomicU64, work: impl FnOnce() -> T) -> T {
    let start = thread_nanos();
    let result = work();
    StageCounters::add(counter, thread_nanos().saturating_sub(start));
    result
}

/// A future whose polls are timed: each poll may run on another worker thread, so the time is
/// taken around every poll rather than from start to end (which would count the waits).
pub(crate) struct Timed<'a, F> {
    future: Pin<Box<F>>,
    counter: &'a AtomicU64,
}

impl<'a, F: Future> Timed<'a, F> {
    pub(crate) fn new(counter: &'a AtomicU64, future: F) -> Timed<'a, F> {
        Timed {
            future: Box::pin(future),
            counter,
        }
    }
}

impl<F: Future> Future for Timed<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let counter = self.counter;
        timed(counter, || self.future.as_mut().poll(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_on_this_thread_is_counted_and_sleep_is_not() {
        let counter = AtomicU64::new(0);
        timed(&counter, || {
            std::thread::sleep(std::time::Duration::from_millis(50))
        });
        let slept = counter.load(std::sync::atomic::Ordering::Relaxed);
        assert!(slept < 20_000_000, "sleeping counted as CPU: {slept} ns");
        let sum = timed(&counter, || {
            (0..20_000_000u64).fold(0u64, |x, i| x.wrapping_add(std::hint::black_box(i)))
        });
        assert!(sum > 0);
        let busy = counter.load(std::sync::atomic::Ordering::Relaxed) - slept;
        // Twenty million additions take milliseconds on any machine, however loaded.
        assert!(busy >= 1_000_000, "a busy loop counted as {busy} ns");
    }
}
