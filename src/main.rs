//! The spate binary: parse the arguments, run, exit with the status.

fn main() {
    let status = spate::run::main_with_args(std::env::args_os().collect());
    std::process::exit(status);
}
