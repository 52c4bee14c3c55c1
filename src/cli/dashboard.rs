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
    let dashboard = crate::web::Dashboard::new(session.client, session.me, listener)
        .map_err(|e| UserError::new(format!("starting the dashboard: {e}")))?;
    let url = dashboard.login_url();
    // The URL is the credential: stdout only (the user's terminal), never a log line.
    println!("kudo dashboard for {} at {url}", crate::printable::printable(&dashboard.username()));
    println!("(the link logs this browser in once; Ctrl-C stops the dashboard)");
    if !args.no_open && webbrowser::open(&url).is_err() {
        eprintln!("could not open a browser: open the URL above");
    }
    dashboard
        .serve(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| UserError::new(format!("the dashboard stopped: {e}")))
}

/// What the dashboard borrows from the CLI until the operations layer
/// (issue 20, item 1) holds it for both.
pub(crate) mod support {
    pub use crate::cli::{
        error::explain,
        format::{age, challenge, relative},
        review::get_escalation,
        session::{Me, Session},
    };
    use crate::{api::EscalationPolicy, cli::UserError};

    pub async fn usable(
        session: &Session,
        policies: Vec<EscalationPolicy>,
    ) -> Result<Vec<EscalationPolicy>, UserError> {
        Ok(crate::cli::admission::usable(session, &policies).await?.into_iter().cloned().collect())
    }

    /// `escalate POLICY --reason R [-n NS] [--duration D]`, checks included;
    /// never prompts (policy and reason are given).
    pub async fn request_escalation(
        session: &Session,
        policy: String,
        reason: String,
        namespace: Option<String>,
        duration: Option<String>,
        break_glass: bool,
    ) -> Result<String, UserError> {
        let args = crate::cli::escalate::RequestArgs {
            policy: Some(policy),
            for_permission: None,
            reason: Some(reason),
            duration,
            timeout: "15m".into(),
            break_glass,
        };
        crate::cli::escalate::create(session, &args, None, namespace).await
    }
}
