use clap::Parser;
use kudo::cli::{UserError, exit};

// glibc malloc keeps freed memory in per-thread arenas: the controller's
// resident size was several times its heap. mimalloc returns it. The
// `system-allocator` feature is for heap profilers that intercept malloc
// (heaptrack): `cargo build --release --features system-allocator`.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = kudo::cli::Cli::parse();
    // The controller's reconciles all run in one task (kube-runtime's
    // Controller stream): on a multi-threaded runtime the watches' I/O
    // woke it from other threads, a third of its CPU spent in context
    // switches (measured: 2.5 -> 1.65 ms of CPU per escalation granted and
    // reclaimed on one thread, with grants no slower). Everything else
    // (the sandbox runs an API server and a controller) keeps a thread per core.
    let mut builder = if matches!(cli.command, kudo::cli::Command::Controller(_)) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return std::process::ExitCode::from(kudo::cli::exit::ERROR);
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: kudo::cli::Cli) -> std::process::ExitCode {
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
