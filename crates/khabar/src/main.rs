// jemalloc instead of the system allocator: a daemon that runs for months on many threads
// fragments glibc's per-thread arenas (a soak run held 40 % more than it used), and the
// pipeline makes thousands of small allocations per article.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Every 10 s, at debug level under `khabar::memory`, what the heap holds: bytes the program
/// has allocated, and the pages the allocator keeps resident for them. Beside the process's
/// resident size (which also counts SQLite's and the other C libraries' own heaps) it tells a
/// growing data structure from fragmentation (`RUST_LOG=khabar::memory=debug`).
fn log_heap() {
    use tikv_jemalloc_ctl::{epoch, stats};
    let (Ok(refresh), Ok(allocated), Ok(resident)) = (
        epoch::mib(),
        stats::allocated::mib(),
        stats::resident::mib(),
    ) else {
        return;
    };
    loop {
        std::thread::sleep(std::time::Duration::from_secs(10));
        if !tracing::enabled!(target: "khabar::memory", tracing::Level::DEBUG) {
            continue;
        }
        if refresh.advance().is_err() {
            return;
        }
        if let (Ok(allocated), Ok(resident)) = (allocated.read(), resident.read()) {
            tracing::debug!(
                target: "khabar::memory",
                allocated_mb = allocated / (1 << 20),
                resident_mb = resident / (1 << 20),
                "heap"
            );
        }
    }
}

fn main() -> std::process::ExitCode {
    let _ = std::thread::Builder::new()
        .name("khabar-heap".into())
        .spawn(log_heap);
    khabar::main_with(khabar::builtin_registry())
}
