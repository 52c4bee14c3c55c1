//! `kubectl kudo sandbox` as a new user meets it: the built binary, its
//! demo on the in-memory API server and on the real control plane, and
//! every command its guide prints, pasted into a shell.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// kubectl finds `kubectl-kudo` (the built binary) on PATH, as after
/// `cargo install`; kudo-testenv's directory too when given.
fn path_with(extra: Option<&Path>) -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_kubectl-kudo")).parent().unwrap().to_path_buf();
    let mut dirs = vec![bin];
    dirs.extend(extra.map(Path::to_path_buf));
    let rest = std::env::var("PATH").unwrap_or_default();
    format!("{}:{rest}", dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(":"))
}

/// The directory holding kudo-testenv (`KUDO_TESTENV`, or what build.sh built).
fn testenv_dir() -> PathBuf {
    let binary = testenv::Testenv::binary().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(binary.file_name().unwrap(), "kudo-testenv", "the sandbox looks for kudo-testenv by name");
    binary.parent().unwrap().to_path_buf()
}

/// "started in 0.42s" from the sandbox's first line.
fn start_time(first_line: &str) -> f64 {
    let after = first_line.split("started in ").nth(1).unwrap_or_else(|| panic!("no start time: {first_line}"));
    after.trim_end_matches(['.', 's', '\n']).parse().unwrap_or_else(|e| panic!("{e}: {first_line}"))
}

/// The README's first command, after `cargo install`: what a new user runs.
fn readme_demo() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let first = readme.lines().find(|l| l.starts_with("cargo install")).expect("the README's first command");
    let command = first.split("   #").next().unwrap().trim();
    let demo = command.strip_prefix("cargo install --locked --path . && ").unwrap_or_else(|| panic!("{command}"));
    assert_eq!(demo, "kubectl kudo sandbox --demo");
    demo.to_string()
}

/// Runs `command` in sh, as pasted, with kubectl finding the plugin on `path`.
fn demo(path: &str, command: &str) -> (String, String, Option<i32>) {
    let out = Command::new("sh")
        .args(["-c", command])
        .env("PATH", path)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

fn assert_story(stdout: &str, stderr: &str) {
    for step in [
        "[1/6] alice's kubectl auth can-i says no",
        "[2/6] she escalates",
        "[3/6] bob (squad-b) sees it pending, and approves",
        "[4/6] alice can",
        "[5/6] the grant expires after 5s, and its binding is gone",
        "[6/6] alice's kubectl auth can-i says no again",
        "✓ the whole story in",
    ] {
        assert!(stdout.contains(step), "missing {step:?}:\n{stdout}\n{stderr}");
    }
    assert_eq!(stdout.matches("      ✓ ").count(), 6, "each step passed, with its timing:\n{stdout}");
    assert!(!stdout.contains('✗'), "{stdout}");
    // The demo's kubeconfig was its own, and it is gone.
    let kubeconfig = stdout.split("KUBECONFIG=").nth(1).and_then(|s| s.split_whitespace().next()).unwrap();
    assert!(!Path::new(kubeconfig).exists(), "{kubeconfig} was left behind");
}

#[test]
fn the_readme_demo_plays_the_story_on_the_in_memory_server_and_starts_in_under_two_seconds() {
    let (stdout, stderr, code) = demo(&path_with(None), &readme_demo());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_story(&stdout, &stderr);
    let started = start_time(stdout.lines().next().unwrap());
    eprintln!("in-memory sandbox started in {started:.2}s");
    assert!(started < 2.0, "the sandbox must start in under 2s: {started}s");
}

#[test]
fn the_demo_plays_the_story_on_the_real_control_plane() {
    let (stdout, stderr, code) = demo(&path_with(Some(&testenv_dir())), &format!("{} --apiserver real", readme_demo()));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("kudo sandbox --demo: kudo on kudo-testenv"), "{stdout}");
    assert_story(&stdout, &stderr);
}

#[test]
fn without_kudo_testenv_on_path_the_real_sandbox_says_how_to_get_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
        .args(["sandbox", "--apiserver", "real"])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("kudo-testenv is not on PATH"), "{stderr}");
    assert!(stderr.contains("tests/testenv/build.sh"), "{stderr}");
}

/// The interactive sandbox, stopped with SIGINT when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn interrupt(child: &mut Child) -> std::process::ExitStatus {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the sandbox ignored Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_command_the_in_memory_sandbox_prints_works_when_pasted() {
    paste_the_guide(false);
}

#[test]
fn every_command_the_real_sandbox_prints_works_when_pasted() {
    paste_the_guide(true);
}

/// Every command the guide prints, pasted into sh in order, does what the
/// guide says: can-i answers as its comment says, everything else exits 0.
/// Then Ctrl-C stops the sandbox, which removes its kubeconfig.
fn paste_the_guide(real: bool) {
    let path = path_with(real.then(testenv_dir).as_deref());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("nested/kudo-sandbox.yaml");
    let mut sandbox = Running(
        Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["sandbox", "--apiserver", if real { "real" } else { "memory" }])
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut guide = Vec::new();
    for line in BufReader::new(sandbox.0.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Ctrl-C stops the sandbox");
        guide.push(line);
        if done {
            break;
        }
    }
    let text = guide.join("\n");
    assert!(text.contains("Ctrl-C stops the sandbox and removes"), "the guide ends: {text}");
    if !real {
        assert!(start_time(&guide[0]) < 2.0, "{}", guide[0]);
    }
    // What users got: one context each, on loopback, for them only.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&kubeconfig).unwrap().permissions().mode() & 0o777, 0o600);
    let config: serde_json::Value = serde_saphyr::from_str(&std::fs::read_to_string(&kubeconfig).unwrap()).unwrap();
    assert!(config["clusters"][0]["cluster"]["server"].as_str().unwrap().starts_with("https://127.0.0.1:"));
    let contexts: Vec<&str> =
        config["contexts"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(contexts, ["admin", "alice", "bob"]);

    let mut comment = String::new();
    let mut pasted = 0;
    for line in guide.iter().map(|l| l.trim()) {
        if let Some(c) = line.strip_prefix("# ") {
            comment = c.to_string();
            continue;
        }
        if !line.starts_with("KUBECONFIG=") {
            continue;
        }
        pasted += 1;
        if line.ends_with(" dashboard") {
            dashboard_answers(line, &path);
            continue;
        }
        let out = Command::new("sh").args(["-c", line]).env("PATH", &path).env_remove("KUBECONFIG").output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if comment.contains("(says no)") {
            assert_eq!(stdout.trim(), "no", "{line}\n{stderr}");
        } else if comment.contains("(says yes)") {
            assert_eq!(stdout.trim(), "yes", "{line}\n{stderr}");
        } else {
            assert!(out.status.success(), "{line}\n{stdout}\n{stderr}");
        }
        eprintln!("pasted: {line}\n{stdout}{stderr}");
    }
    assert_eq!(pasted, 12, "{text}");
    assert!(text.contains("kubectl kudo --context alice escalate read-pods"), "{text}");

    let status = interrupt(&mut sandbox.0);
    assert!(status.success(), "{status}");
    assert!(
        !kubeconfig.exists() && !kubeconfig.parent().unwrap().exists(),
        "Ctrl-C removes the kubeconfig, and the directory made for it"
    );
}

/// A pasted `kubectl kudo dashboard` (with --no-open: no browser here)
/// prints its URL, which logs in: then it is stopped, with kubectl.
fn dashboard_answers(line: &str, path: &str) {
    use std::io::{Read, Write};
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("sh")
        .args(["-c", &format!("{line} --no-open")])
        .env("PATH", path)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    output.read_line(&mut first).unwrap();
    let user = line.split("--context ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap();
    assert!(first.starts_with(&format!("kudo dashboard for {user} at http://127.0.0.1:")), "{line}: {first}");
    let url = first.split_whitespace().last().unwrap().trim_start_matches("http://");
    let (host, path_and_query) = url.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET /{path_and_query} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 303"), "{line}: {answer}");
    assert!(answer.to_ascii_lowercase().contains("set-cookie: kudo-dashboard-"), "{answer}");
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::SIGTERM);
    let _ = child.wait();
    eprintln!("pasted: {line}\n{first}");
}
