// jemalloc instead of the system allocator: a daemon that runs for months on many threads
// fragments glibc's per-thread arenas (a soak run held 40 % more than it used), and the
// pipeline makes thousands of small allocations per article.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    khabar::main_with(khabar::builtin_registry())
}
