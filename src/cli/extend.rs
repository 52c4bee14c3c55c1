//! `kubectl kudo extend NAME`: ask for more time on a running escalation
//! without a gap (the operation is `operations::extend`).

use clap::Args;
use kube::ResourceExt;

use super::{error::UserError, escalate, report, session::Session};
use crate::operations::{extend, request};

#[derive(Clone, Debug, Args)]
pub struct ExtendArgs {
    /// The running (ACCEPTED) escalation of yours to extend.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// How long the extension lasts from its acceptance (default: the
    /// extended escalation's duration), at most the policy's maxDuration.
    #[arg(short, long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Why (default: the extended escalation's reason).
    #[arg(short, long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Wait for the decision and report it (by default: return once the
    /// controller has taken the request up).
    #[arg(long)]
    pub wait: bool,
    /// Longest wait for the decision, with --wait.
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    pub timeout: String,
}

pub async fn run(session: &Session, args: ExtendArgs) -> Result<(), UserError> {
    let timeout = request::parse_duration(&args.timeout, "--timeout")?;
    let name = extend::request(session, &args.name, args.duration.clone(), args.reason.clone()).await?.name_any();
    if !args.wait {
        return escalate::taken_up(session, &name).await;
    }
    eprintln!("escalation/{name} created, extending {}", args.name);
    let decided = report::wait(session, &name, timeout).await?;
    report::granted(&decided, &mut std::io::stdout())
}
