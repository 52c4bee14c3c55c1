use clap::Parser;
use kudo::cli::{UserError, exit};

// glibc malloc keeps freed memory in per-thread arenas: the controller's
// resident size was several times its heap. mimalloc returns it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = kudo::cli::Cli::parse();
    match kudo::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if let Some(kudo::cli::Exit(code)) = e.downcast_ref() {
                return std::process::ExitCode::from(*code);
            }
            eprintln!("error: {e:#}");
            let code = e.downcast_ref::<UserError>().map_or(exit::ERROR, |u| u.code);
            std::process::ExitCode::from(code)
        }
    }
}
