fn main() -> std::process::ExitCode {
    let mut registry = khabar::builtin_registry();
    khabar_count_sink::register(&mut registry);
    khabar::main_with(registry)
}
