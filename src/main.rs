//! The `cplogs` binary: everything lives in `cplogs::cli`.

fn main() -> std::process::ExitCode {
    cplogs::cli::allocator::tune();
    cplogs::cli::main()
}
