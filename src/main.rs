use clap::Parser;
use kudo::cli::{UserError, exit};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = kudo::cli::Cli::parse();
    match kudo::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = e.downcast_ref::<UserError>().map_or(exit::ERROR, |u| u.code);
            std::process::ExitCode::from(code)
        }
    }
}
