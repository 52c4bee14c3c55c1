//! The commands the sandbox prints for people to paste, and how a command
//! is written for a shell and run by the demo: one description for both,
//! so that what is printed is what is run.

use std::path::Path;

use super::examples::READ_PODS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    Kubectl,
    /// `kubectl kudo`: kubectl runs `kubectl-kudo` with the words after `kudo`.
    Kudo,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Word {
    Literal(String),
    /// `$(…)`: what another command prints (the name of an escalation).
    OutputOf(Box<Command>),
}

/// One command, run as one of the sandbox's users (a kubeconfig context).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub program: Program,
    pub context: String,
    pub words: Vec<Word>,
}

impl Command {
    pub fn kubectl(context: &str, words: &[&str]) -> Self {
        Self::new(Program::Kubectl, context, words)
    }

    pub fn kudo(context: &str, words: &[&str]) -> Self {
        Self::new(Program::Kudo, context, words)
    }

    fn new(program: Program, context: &str, words: &[&str]) -> Self {
        Self { program, context: context.into(), words: words.iter().map(|w| Word::Literal((*w).into())).collect() }
    }

    /// Adds `$(command)` as the last word.
    pub fn with_output_of(mut self, command: Command) -> Self {
        self.words.push(Word::OutputOf(Box::new(command)));
        self
    }

    /// The line to paste into sh, bash or zsh. kubectl's own `--context`
    /// comes after the plugin's name: kubectl refuses flags before it.
    pub fn shell(&self, kubeconfig: &Path) -> String {
        format!("KUBECONFIG={} {}", quote(&kubeconfig.display().to_string()), self.shell_words(kubeconfig))
    }

    fn shell_words(&self, kubeconfig: &Path) -> String {
        let mut out = match self.program {
            Program::Kubectl => format!("kubectl --context {}", quote(&self.context)),
            Program::Kudo => format!("kubectl kudo --context {}", quote(&self.context)),
        };
        for word in &self.words {
            out.push(' ');
            match word {
                Word::Literal(w) => out += &quote(w),
                Word::OutputOf(inner) => out += &format!("$({})", inner.shell(kubeconfig)),
            }
        }
        out
    }

    /// The arguments as exec'd: kubectl's, or those kubectl passes the
    /// plugin. `None` when a word is another command's output (the shell's job).
    pub fn argv(&self) -> Option<Vec<String>> {
        let mut out = vec!["--context".to_string(), self.context.clone()];
        for word in &self.words {
            match word {
                Word::Literal(w) => out.push(w.clone()),
                Word::OutputOf(_) => return None,
            }
        }
        Some(out)
    }
}

/// Single-quotes a word unless it is plainly safe for every POSIX shell.
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe { word.into() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// A comment saying what the command shows, then the command.
pub struct Step {
    pub comment: &'static str,
    pub command: Command,
}

/// What `kubectl auth can-i` says, written into a step's comment so that a
/// reader (and the test that pastes every command) knows what to expect.
pub const SAYS_NO: &str = "(says no)";
pub const SAYS_YES: &str = "(says yes)";

/// alice's question, asked before and after her escalation.
pub fn can_alice_read_pods() -> Command {
    Command::kubectl("alice", &["auth", "can-i", "list", "pods", "-n", "some-app"])
}

/// The interactive sandbox's guide, in the order to paste it.
pub fn steps() -> Vec<Step> {
    let pending = || Command::kudo("bob", &["list", "--pending-review"]);
    vec![
        Step { comment: "alice may not read pods in some-app (says no):", command: can_alice_read_pods() },
        Step {
            comment: "the policies alice may use, and what each asks first:",
            command: Command::kudo("alice", &["policies"]),
        },
        Step {
            comment: "she asks for them, for 10 minutes; a member of squad-b must approve:",
            command: Command::kudo(
                "alice",
                &["escalate", READ_PODS, "--reason", "debug some-app, ticket #1", "--duration", "10m", "--no-wait"],
            ),
        },
        Step { comment: "bob (squad-b) sees her request:", command: pending() },
        Step {
            comment: "and approves it (its name from that list), waiting for the controller to grant it:",
            command: Command::kudo("bob", &["approve", "--yes", "--wait"])
                .with_output_of(Command::kudo("bob", &["list", "--pending-review", "-o", "name"])),
        },
        Step { comment: "now alice may (says yes):", command: can_alice_read_pods() },
        Step {
            comment: "which policy would let her port-forward in application-a (gain-port-forward):",
            command: Command::kudo("alice", &["which", "create", "pods/portforward", "-n", "application-a"]),
        },
        Step {
            comment: "she gives the access back early:",
            command: Command::kudo("alice", &["revoke", "--all-mine"]),
        },
        Step { comment: "every escalation, as admin sees them:", command: Command::kudo("admin", &["list", "--all"]) },
        Step { comment: "and whether the install is healthy:", command: Command::kudo("admin", &["doctor"]) },
    ]
}

/// `kubectl kudo dashboard` as alice and as bob: the same story, clicked.
/// Not among [`steps`]: they run until Ctrl-C.
pub fn dashboards() -> Vec<Step> {
    vec![
        Step {
            comment: "alice's: her escalations, live, and a request form built from her policies:",
            command: Command::kudo("alice", &["dashboard"]),
        },
        Step {
            comment: "bob's: what waits for his review, with what each would grant, and Approve/Deny:",
            command: Command::kudo("bob", &["dashboard"]),
        },
    ]
}

/// The whole guide: where the sandbox is, who is in it, what to paste.
pub fn render(kubeconfig: &Path, apiserver: &str, url: &str, started_in: std::time::Duration) -> String {
    let mut out = format!(
        "kudo sandbox: kudo on {apiserver} at {url}, started in {:.2}s.\n\
         Users: admin (cluster-admin), alice (group squad-a), bob (group squad-b, reviews).\n\
         Policies: read-pods (squad-a may read pods in some-app, approved by squad-b),\n\
         \x20         gain-port-forward (anyone may port-forward in application-a, approved by squad-b).\n\
         Kubeconfig: {} (one context per user).\n\n\
         Paste these into another terminal:\n\n",
        started_in.as_secs_f64(),
        kubeconfig.display()
    );
    for step in steps() {
        out += &format!("  # {}\n  {}\n", step.comment, step.command.shell(kubeconfig));
    }
    out += "\nOr in a browser, one dashboard per user (each runs until Ctrl-C; --no-open prints its URL only):\n\n";
    for step in dashboards() {
        out += &format!("  # {}\n  {}\n", step.comment, step.command.shell(kubeconfig));
    }
    out += &format!("\nCtrl-C stops the sandbox and removes {}.\n", kubeconfig.display());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_written_for_a_shell_with_kubectls_flags_after_the_plugin() {
        let path = Path::new("/home/a b/.kube/kudo-sandbox.yaml");
        let approve =
            Command::kudo("bob", &["approve", "--yes"]).with_output_of(Command::kudo("bob", &["list", "-o", "name"]));
        assert_eq!(
            approve.shell(path),
            "KUBECONFIG='/home/a b/.kube/kudo-sandbox.yaml' kubectl kudo --context bob approve --yes \
             $(KUBECONFIG='/home/a b/.kube/kudo-sandbox.yaml' kubectl kudo --context bob list -o name)"
        );
        assert_eq!(approve.argv(), None, "a substitution is the shell's");
        let escalate = Command::kudo("alice", &["escalate", "--reason", "it's #1"]);
        assert!(escalate.shell(path).ends_with(r"escalate --reason 'it'\''s #1'"), "{}", escalate.shell(path));
        assert_eq!(escalate.argv().unwrap(), ["--context", "alice", "escalate", "--reason", "it's #1"]);
        assert_eq!(
            can_alice_read_pods().shell(Path::new("/k")),
            "KUBECONFIG=/k kubectl --context alice auth can-i list pods -n some-app"
        );
    }

    #[test]
    fn can_i_steps_say_what_they_answer() {
        let answers: Vec<&str> = steps()
            .iter()
            .filter(|s| s.command == can_alice_read_pods())
            .map(|s| {
                if s.comment.contains(SAYS_NO) {
                    "no"
                } else if s.comment.contains(SAYS_YES) {
                    "yes"
                } else {
                    "?"
                }
            })
            .collect();
        assert_eq!(answers, ["no", "yes"]);
    }
}
