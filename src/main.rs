//! The `cplogs` binary: everything lives in `cplogs::cli`.

fn main() -> std::process::ExitCode {
    cplogs::cli::allocator::limit_arenas();
    cplogs::cli::main()
}
