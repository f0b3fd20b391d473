fn main() -> std::process::ExitCode {
    khabar::main_with(khabar::builtin_registry())
}
