//! `kubectl kudo reap`: one pass of the second line of defence; the pass is `crate::grants::reap`.

use std::{io::Write, time::Duration};

use anyhow::Context as _;
use clap::Args;

use super::{
    controller::{LogFormat, init_logging, parse_duration},
    kubeconfig::KubeFlags,
};
use crate::grants::reap;

#[derive(Clone, Debug, Args)]
pub struct ReapArgs {
    /// Time for the whole pass; due bindings not reached by then are left to
    /// the next pass, the most urgent first again. The CronJob's Job is killed
    /// at 55s, so its default leaves 10s to start, connect and exit.
    #[arg(long, default_value = "45s", value_parser = parse_duration, value_name = "DURATION")]
    pub budget: Duration,
    /// Deletions in flight at once.
    #[arg(long, default_value_t = reap::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(usize), value_name = "N")]
    pub concurrency: usize,
    /// Log format (logs go to stderr; what was reaped to stdout).
    #[arg(long, value_enum, default_value = "text", env = "KUDO_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter, as RUST_LOG (e.g. info, kudo=debug).
    #[arg(long, default_value = "warn", env = "KUDO_LOG")]
    pub log: String,
}

/// Prints each binding deleted and why; an error when a due binding is
/// still there afterwards (failed, or not reached within the budget), so
/// the Job shows as failed.
pub async fn run(kube: &KubeFlags, args: ReapArgs) -> anyhow::Result<()> {
    init_logging(args.log_format, &args.log, Vec::new())?;
    let client = kube.client().await.context("connecting to the cluster")?;
    let options = reap::Options { budget: args.budget, concurrency: args.concurrency };
    let mut out = std::io::stdout().lock();
    // Printed as they go: a pass killed at the Job's deadline still says what it did.
    let mut written: std::io::Result<()> = Ok(());
    let pass = reap::reap(&client, jiff::Timestamp::now(), options, |done| {
        let line = match done {
            reap::Done::Reaped { binding, why } => writeln!(out, "{} deleted: {why}", binding.describe()),
            reap::Done::Failed { binding, why, error } => {
                writeln!(out, "{} not reaped ({why}): {error}", binding.describe())
            }
        };
        if written.is_ok() {
            written = line;
        }
    })
    .await
    .context("reaping")?;
    written.context("writing to stdout")?;
    writeln!(
        out,
        "reaped {} binding(s) of {} listed, in {:.1}s (listing {:.1}s)",
        pass.reaped,
        pass.listed,
        pass.elapsed.as_secs_f64(),
        pass.listing.as_secs_f64()
    )
    .context("writing to stdout")?;
    if pass.failed == 0 && pass.left == 0 {
        return Ok(());
    }
    anyhow::bail!(
        "{} due binding(s) could not be reaped and {} were not reached within --budget {:?}; the next pass tries again",
        pass.failed,
        pass.left,
        args.budget
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_is_the_cronjobs() {
        assert_eq!(parse_duration("45s").unwrap(), reap::DEFAULT_BUDGET);
    }
}
