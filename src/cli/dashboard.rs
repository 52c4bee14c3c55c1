//! `kubectl kudo dashboard [--port N] [--no-open]`: the local web UI
//! (`crate::web`) acting as the user, with their own kubeconfig identity.

use clap::Args;

use super::{error::UserError, session::Session};

#[derive(Clone, Debug, Args)]
pub struct DashboardArgs {
    /// Port on 127.0.0.1 to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    pub port: u16,
    /// Print the URL only; do not open a browser.
    #[arg(long)]
    pub no_open: bool,
}

pub async fn run(session: Session, args: DashboardArgs) -> Result<(), UserError> {
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, args.port)).await.map_err(|e| {
        UserError::new(format!("cannot listen on 127.0.0.1:{}: {e}", args.port))
            .hint("pick another --port, or --port 0 for a free one")
    })?;
    let user = crate::printable::printable(&session.me.username).into_owned();
    let dashboard = crate::web::Dashboard::new(session, listener)
        .map_err(|e| UserError::new(format!("starting the dashboard: {e}")))?;
    let url = dashboard.login_url();
    // The URL is the credential: stdout only (the user's terminal), never a
    // log line. One write, errors ignored: a closed stdout (`| head -1`)
    // must not stop the server.
    let _ = std::io::Write::write_all(
        &mut std::io::stdout(),
        format!(
            "kudo dashboard for {user} at {url}\n(open it once to log this browser in; Ctrl-C stops the dashboard)\n"
        )
        .as_bytes(),
    );
    if !args.no_open {
        if !has_display() {
            eprintln!("no display to open a browser on: open the URL above");
        } else if webbrowser::open(&url).is_err() {
            eprintln!("could not open a browser: open the URL above");
        }
    }
    dashboard
        .serve(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| UserError::new(format!("the dashboard stopped: {e}")))
}

/// Whether a graphical browser can be opened. Without a display (ssh, a
/// container) `webbrowser` would fall back to a text browser taking over
/// this terminal, which the dashboard needs for its URL and Ctrl-C.
fn has_display() -> bool {
    let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    !cfg!(target_os = "linux") || set("DISPLAY") || set("WAYLAND_DISPLAY")
}
