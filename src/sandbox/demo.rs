//! `kubectl kudo sandbox --demo`: the story, played through the commands
//! people type (kubectl, and this binary as kubectl runs it), each step
//! printed with what it ran, what it printed, and how long it took.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use super::{
    examples::{READ_PODS, REVIEWERS},
    guide::{Command, Program, can_alice_read_pods},
};

/// The grant's length: short enough to watch it expire.
pub const GRANT: &str = "5s";
/// How long a change may take to show: a real API server's RBAC authorizer
/// sees a new or deleted binding a moment after it is written.
const SETTLE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("running {program}: {source}; the demo drives kubectl as users do, so it must be on PATH")]
    Spawn { program: String, source: std::io::Error },
    #[error("step {step} failed: {why}")]
    Step { step: usize, why: String },
}

/// What one run printed.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

struct Player<'a, W> {
    plugin: PathBuf,
    kubeconfig: PathBuf,
    out: &'a mut W,
    step: usize,
    started: Instant,
}

/// Plays the story on the sandbox whose kubeconfig is `kubeconfig`;
/// `plugin` is this binary (what kubectl runs for `kubectl kudo`). Returns
/// how long it took, or the step that failed.
pub async fn play(plugin: &Path, kubeconfig: &Path, out: &mut impl Write) -> Result<Duration, DemoError> {
    let started = Instant::now();
    let mut p = Player { plugin: plugin.into(), kubeconfig: kubeconfig.into(), out, step: 0, started };

    p.begin("alice's kubectl auth can-i says no");
    p.answer(&can_alice_read_pods(), "no", None).await?;

    p.begin(&format!("she escalates for {GRANT}, with a reason"));
    let escalate = Command::kudo(
        "alice",
        &[
            "escalate",
            READ_PODS,
            "--reason",
            "demo: read pods in some-app, ticket #1",
            "--duration",
            GRANT,
            "--no-wait",
        ],
    );
    let ran = p.run(&escalate).await?;
    let name = ran
        .stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("escalation/"))
        .map(String::from)
        .ok_or_else(|| p.fail(format!("escalate printed no escalation name: {}{}", ran.stdout, ran.stderr)))?;
    p.expect(ran.ok && ran.stdout.contains("PENDING"), "the escalation is PENDING", &ran)?;
    p.end();

    p.begin(&format!("bob ({REVIEWERS}) sees it pending, and approves"));
    let ran = p.run(&Command::kudo("bob", &["list", "--pending-review"])).await?;
    p.expect(ran.ok && ran.stdout.contains(&name), &format!("{name} is listed"), &ran)?;
    let ran = p.run(&Command::kudo("bob", &["approve", &name, "--yes", "--wait"])).await?;
    p.expect(ran.ok && ran.stdout.contains("ACCEPTED"), "the approval is granted", &ran)?;
    p.end();

    p.begin("alice can");
    p.answer(&can_alice_read_pods(), "yes", Some(SETTLE)).await?;

    p.begin(&format!("the grant expires after {GRANT}, and its binding is gone"));
    let expired = "--for=jsonpath={.status.state}=EXPIRED";
    let ran =
        p.run(&Command::kubectl("alice", &["wait", &format!("escalation/{name}"), expired, "--timeout=60s"])).await?;
    p.expect(ran.ok, "the escalation EXPIRED", &ran)?;
    let selector = format!("{}={name}", crate::api::ESCALATION_LABEL);
    let bindings = Command::kubectl("admin", &["get", "rolebindings", "-n", "some-app", "-l", &selector, "-o", "name"]);
    let deadline = Instant::now() + SETTLE;
    loop {
        let ran = p.run_quietly(&bindings).await?;
        if ran.ok && ran.stdout.trim().is_empty() {
            p.show(&bindings, &ran);
            break;
        }
        if Instant::now() >= deadline {
            p.show(&bindings, &ran);
            return Err(p.fail("its RoleBinding is still there".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    p.end();

    p.begin("alice's kubectl auth can-i says no again");
    p.answer(&can_alice_read_pods(), "no", Some(SETTLE)).await?;

    let took = started.elapsed();
    let _ = writeln!(p.out, "\n✓ the whole story in {:.2}s", took.as_secs_f64());
    Ok(took)
}

impl<W: Write> Player<'_, W> {
    fn begin(&mut self, what: &str) {
        self.step += 1;
        self.started = Instant::now();
        let _ = writeln!(self.out, "\n[{}/6] {what}", self.step);
    }

    fn end(&mut self) {
        let _ = writeln!(self.out, "      ✓ {:.2}s", self.started.elapsed().as_secs_f64());
    }

    fn fail(&mut self, why: String) -> DemoError {
        let _ = writeln!(self.out, "      ✗ {why}");
        DemoError::Step { step: self.step, why }
    }

    fn expect(&mut self, ok: bool, what: &str, ran: &Ran) -> Result<(), DemoError> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(format!("expected: {what}; got: {}{}", ran.stdout.trim(), ran.stderr.trim())))
        }
    }

    /// Runs can-i until it answers `want` (for up to `settle`), then ends the step.
    async fn answer(&mut self, can_i: &Command, want: &str, settle: Option<Duration>) -> Result<(), DemoError> {
        let deadline = Instant::now() + settle.unwrap_or_default();
        loop {
            let ran = self.run_quietly(can_i).await?;
            if ran.stdout.trim() == want {
                self.show(can_i, &ran);
                self.end();
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.show(can_i, &ran);
                return Err(self.fail(format!("can-i said {:?}, not {want}", ran.stdout.trim())));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn run(&mut self, command: &Command) -> Result<Ran, DemoError> {
        let ran = self.run_quietly(command).await?;
        self.show(command, &ran);
        Ok(ran)
    }

    fn show(&mut self, command: &Command, ran: &Ran) {
        let _ = writeln!(self.out, "      $ {}", command.shell(&self.kubeconfig));
        for line in ran.stdout.lines().chain(ran.stderr.lines()).filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(self.out, "        {}", crate::printable::printable(line));
        }
    }

    async fn run_quietly(&mut self, command: &Command) -> Result<Ran, DemoError> {
        let Some(args) = command.argv() else {
            return Err(self.fail("the demo runs no command substitution".into()));
        };
        let program = match command.program {
            Program::Kubectl => PathBuf::from("kubectl"),
            Program::Kudo => self.plugin.clone(),
        };
        let output = tokio::process::Command::new(&program)
            .args(&args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|source| DemoError::Spawn { program: program.display().to_string(), source })?;
        Ok(Ran {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}
