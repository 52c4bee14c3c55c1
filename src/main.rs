use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = kudo::cli::Cli::parse();
    match kudo::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
