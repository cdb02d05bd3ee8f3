use std::process::ExitCode;

fn main() -> ExitCode {
    accord::cli::main()
}
