//! Chaos soak (issue 12): the shipped controller binary, as its
//! ServiceAccount, handles a stream of escalations with reviews,
//! revocations, deletions and a policy edit while the fake API server fails
//! a share of its requests the ways real control planes do, has one short
//! outage, and the controller is SIGKILLed and restarted several times. At
//! the end an invariant checker looks at what is left.
//!
//! `KUDO_CHAOS_SECS` (default 45) sets the length, `KUDO_CHAOS_SEED` replays
//! a run (the seed is printed), `KUDO_CHAOS_RATE` the share of faulted requests.

mod support;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    io::BufRead,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams},
    runtime::watcher,
};
use kudo::api::{Escalation, EscalationPolicy, EscalationState, GrantStatus};
use memory_apiserver::FaultConfig;
use serde_json::json;
use support::{Cluster, SA, pod_reader_policy};

/// Longest a binding may outlive its escalation's end while faults, kills
/// and restarts are going on (a restart waits out the dead leader's lease).
const LAG_ALLOWANCE: Duration = Duration::from_secs(30);

struct Controller {
    child: Child,
    runs: usize,
    audit: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Controller {
    fn start(cluster: &Cluster, audit: Arc<Mutex<Vec<serde_json::Value>>>, runs: usize) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig_path())
            .args([
                "--context",
                SA,
                "controller",
                "--log-format",
                "json",
                "--log",
                "kudo=info,warn",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--lease-duration", "3s", "--sweep-interval", "2s", "--identity", &format!("run-{runs}")])
            .stdout(Stdio::piped())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(cluster.dir().join("controller.log"))
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let sink = audit.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        Self { child, runs, audit }
    }

    fn kill_and_restart(&mut self, cluster: &Cluster) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        *self = Self::start(cluster, self.audit.clone(), self.runs + 1);
    }

    /// As a Deployment would: a replica that exited (it gives up when it
    /// cannot renew its Lease) is started again. Returns whether it had exited.
    fn restart_if_exited(&mut self, cluster: &Cluster) -> bool {
        let exited = self.child.try_wait().unwrap().is_some();
        if exited {
            *self = Self::start(cluster, self.audit.clone(), self.runs + 1);
        }
        exited
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Written straight to stderr, past the test harness's capture, so the
/// figures show in every run's log (CI's too).
fn report(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Every RoleBinding/ClusterRoleBinding ADDED and DELETED kudo-labelled event, seen by admin.
#[derive(Default)]
struct BindingLog {
    added: HashMap<String, usize>,
    deleted_at: HashMap<String, Timestamp>,
}

fn log_bindings<K>(api: Api<K>, log: Arc<Mutex<BindingLog>>) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let config = watcher::Config::default().labels("app.kubernetes.io/managed-by=kudo");
    tokio::spawn(async move {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut events = watcher(api, config).boxed();
        while let Some(Ok(event)) = events.next().await {
            let mut log = log.lock().unwrap();
            match event {
                watcher::Event::Apply(o) | watcher::Event::InitApply(o) => {
                    let key = format!("{}/{}", o.meta().namespace.clone().unwrap_or_default(), o.name_any());
                    let uid = o.meta().uid.clone().unwrap_or_default();
                    if seen.insert(uid) {
                        *log.added.entry(key).or_default() += 1;
                    }
                }
                watcher::Event::Delete(o) => {
                    let key = format!("{}/{}", o.meta().namespace.clone().unwrap_or_default(), o.name_any());
                    log.deleted_at.insert(key, Timestamp::now());
                }
                _ => {}
            }
        }
    })
}

async fn kudo_bindings(cluster: &Cluster) -> Vec<(String, String, Option<String>, String)> {
    let admin = cluster.client("admin").await;
    let lp = ListParams::default().labels("app.kubernetes.io/managed-by=kudo");
    let mut out = Vec::new();
    for b in Api::<RoleBinding>::all(admin.clone()).list(&lp).await.unwrap() {
        let esc = b.labels().get("k8s.kudo.dev/escalation").cloned().unwrap_or_default();
        out.push((format!("{}/{}", b.namespace().unwrap_or_default(), b.name_any()), esc, b.uid(), String::new()));
    }
    for b in Api::<ClusterRoleBinding>::all(admin).list(&lp).await.unwrap() {
        let esc = b.labels().get("k8s.kudo.dev/escalation").cloned().unwrap_or_default();
        out.push((format!("/{}", b.name_any()), esc, b.uid(), String::new()));
    }
    out
}

/// Bindings that no ACCEPTED escalation accounts for, `allowance` after it ended.
async fn leaked(cluster: &Cluster, allowance: Duration) -> Vec<String> {
    let escalations: BTreeMap<String, Escalation> = Api::<Escalation>::all(cluster.client("admin").await)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| (e.name_any(), e))
        .collect();
    let now = Timestamp::now();
    let mut bad = Vec::new();
    for (key, esc, uid, _) in kudo_bindings(cluster).await {
        let Some(e) = escalations.get(&esc) else {
            bad.push(format!("{key}: escalation {esc} is gone"));
            continue;
        };
        let status = e.status.clone().unwrap_or_else(|| kudo::api::EscalationStatus::new(EscalationState::Pending));
        let ended = match status.state {
            EscalationState::Accepted => status.expires_at.map(|t| t.0),
            _ => status.finished_at.or(status.expires_at).map(|t| t.0),
        };
        let overdue =
            ended.is_some_and(|end| now.duration_since(end) > jiff::SignedDuration::try_from(allowance).unwrap());
        let named = status.grant_refs.iter().any(|r| {
            key.ends_with(&format!("/{}", r.reference.name))
                && r.reference.uid.as_ref().is_none_or(|u| Some(u) == uid.as_ref())
        });
        if status.state != EscalationState::Accepted && overdue {
            bad.push(format!("{key}: escalation {esc} is {} since {ended:?}", status.state));
        } else if status.state == EscalationState::Accepted && overdue {
            bad.push(format!("{key}: escalation {esc} expired at {ended:?}"));
        } else if status.state == EscalationState::Accepted && !named {
            bad.push(format!("{key}: escalation {esc} does not name it"));
        }
    }
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_soak_on_the_fake_keeps_every_invariant() {
    let seconds: u64 = env("KUDO_CHAOS_SECS", 45);
    let seed: u64 = env("KUDO_CHAOS_SEED", Timestamp::now().as_nanosecond() as u64);
    let rate: f64 = env("KUDO_CHAOS_RATE", 0.12);
    let kills = 3usize.max((seconds / 15) as usize);
    report(format!(
        "chaos: seed {seed}, {seconds}s, fault rate {rate}, {kills} kills (replay with KUDO_CHAOS_SEED={seed})"
    ));
    let cluster = Cluster::fake_only().await;
    let admin = cluster.client("admin").await;
    let mut fast = pod_reader_policy("fast", "4s", json!([]));
    fast["spec"]["maxOpenPerRequestor"] = json!(10000);
    cluster.policy(fast).await;
    let mut reviewed = pod_reader_policy(
        "reviewed",
        "6s",
        json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]),
    );
    reviewed["spec"]["maxOpenPerRequestor"] = json!(10000);
    reviewed["spec"]["pendingTimeout"] = json!("15s");
    cluster.policy(reviewed).await;
    let mut edited = pod_reader_policy("edited", "40s", json!([]));
    edited["spec"]["maxOpenPerRequestor"] = json!(10000);
    cluster.policy(edited).await;

    let log = Arc::new(Mutex::new(BindingLog::default()));
    let watchers = [
        log_bindings(Api::<RoleBinding>::all(admin.clone()), log.clone()),
        log_bindings(Api::<ClusterRoleBinding>::all(admin.clone()), log.clone()),
    ];
    cluster.fake().set_faults(Some(FaultConfig { seed, rate, users: vec![SA.to_string()] }));
    let audit = Arc::new(Mutex::new(Vec::new()));
    let mut controller = Controller::start(&cluster, audit.clone(), 0);

    let mut rng = seed;
    let mut next = move |n: u64| {
        // xorshift: the driver's own choices, replayable from the seed.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n.max(1)
    };
    let as_alice: Api<Escalation> = Api::all(cluster.client("alice").await);
    let as_admin: Api<Escalation> = Api::all(admin.clone());
    let mut created: Vec<Escalation> = Vec::new();
    let started = Instant::now();
    let run_for = Duration::from_secs(seconds);
    let mut kill_at: Vec<Duration> = (1..=kills).map(|k| run_for * k as u32 / (kills as u32 + 1)).collect();
    let outage_at = run_for / 2 + Duration::from_secs(1);
    let (mut edited_done, mut outage_done, mut killed, mut exits) = (false, false, 0, 0);
    let mut worst_lag_seen = Vec::new();
    while started.elapsed() < run_for {
        let policy = ["fast", "fast", "reviewed", "reviewed", "edited"][next(5) as usize];
        let esc = cluster.escalate("alice", &["squad-a"], policy, json!({})).await.unwrap();
        if policy == "reviewed" {
            match next(10) {
                0..=6 => drop(cluster.review("bob", &["admins"], &esc, "APPROVED").await),
                7 => drop(cluster.review("carol", &["admins"], &esc, "REJECTED").await),
                _ => {}
            }
        }
        created.push(esc);
        if next(10) == 0 {
            let victim = &created[next(created.len() as u64) as usize];
            let revoke = json!({"spec": {"revoked": true, "revokedBy": "alice"}});
            let _ = as_alice.patch(&victim.name_any(), &PatchParams::default(), &Patch::Merge(&revoke)).await;
        }
        if next(20) == 0 {
            let victim = &created[next(created.len() as u64) as usize];
            let _ = as_admin.delete(&victim.name_any(), &DeleteParams::default()).await;
        }
        if !edited_done && started.elapsed() > run_for / 3 {
            let policies: Api<EscalationPolicy> = Api::all(admin.clone());
            let edit = json!({"spec": {"target": {"maxDuration": "2h"}}});
            policies.patch("edited", &PatchParams::default(), &Patch::Merge(&edit)).await.unwrap();
            edited_done = true;
        }
        if !outage_done && started.elapsed() > outage_at {
            cluster.fake().outage(Duration::from_secs(2));
            outage_done = true;
        }
        if kill_at.first().is_some_and(|at| started.elapsed() > *at) {
            kill_at.remove(0);
            controller.kill_and_restart(&cluster);
            killed += 1;
        }
        if created.len().is_multiple_of(20) {
            worst_lag_seen.extend(leaked(&cluster, LAG_ALLOWANCE).await);
        }
        exits += usize::from(controller.restart_if_exited(&cluster));
        tokio::time::sleep(Duration::from_millis(100 + next(150))).await;
    }
    let counts = cluster.fake().fault_counts();
    cluster.fake().set_faults(None);

    // Quiescence: everything settles once faults stop.
    let deadline = Instant::now() + Duration::from_secs(60);
    let settled = |e: &Escalation| match e.status.as_ref() {
        None => false,
        Some(s) if s.state.is_final() => s.grant_refs.iter().all(|r| r.status == GrantStatus::Reclaimed),
        Some(s) if s.state == EscalationState::Accepted => {
            s.grant_refs.iter().all(|r| r.status == GrantStatus::Created)
        }
        Some(_) => true,
    };
    let escalations = loop {
        let all = as_admin.list(&ListParams::default()).await.unwrap().items;
        let pending: Vec<String> = all.iter().filter(|e| !settled(e)).map(ResourceExt::name_any).collect();
        let leaks = leaked(&cluster, Duration::from_secs(2)).await;
        if pending.is_empty() && leaks.is_empty() {
            break all;
        }
        exits += usize::from(controller.restart_if_exited(&cluster));
        assert!(
            Instant::now() < deadline,
            "not settled 60s after the faults stopped: {pending:?} {leaks:?}; controller log: {}",
            cluster.dir().join("controller.log").display()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for w in watchers {
        w.abort();
    }

    // 1. No binding outlived its escalation beyond the allowance, at any sample.
    assert!(worst_lag_seen.is_empty(), "bindings outlived their escalations: {worst_lag_seen:#?}");
    // 2. Every ACCEPTED escalation holds exactly the bindings status names.
    // A binding is deleted just before its escalation stops being ACCEPTED
    // (expiry, revocation, denial write status after reclaiming), so a
    // mismatch only counts if it persists.
    let mut mismatches = Vec::new();
    for _ in 0..5 {
        let bindings: HashMap<String, Option<String>> =
            kudo_bindings(&cluster).await.into_iter().map(|(key, _, uid, _)| (key, uid)).collect();
        let now_escalations = as_admin.list(&ListParams::default()).await.unwrap().items;
        mismatches = now_escalations
            .iter()
            .filter(|e| e.state() == Some(EscalationState::Accepted))
            .flat_map(|e| {
                e.status.as_ref().unwrap().grant_refs.iter().filter_map(|r| {
                    let key = format!("{}/{}", r.reference.namespace.clone().unwrap_or_default(), r.reference.name);
                    (bindings.get(&key) != Some(&r.reference.uid)).then(|| {
                        format!("{} names {key} ({:?}), found {:?}", e.name_any(), r.reference.uid, bindings.get(&key))
                    })
                })
            })
            .collect();
        if mismatches.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(mismatches.is_empty(), "ACCEPTED escalations without their bindings: {mismatches:#?}");
    // 3. No grant was created twice for one ref.
    let (added, deleted_at) = {
        let log = log.lock().unwrap();
        (log.added.clone(), log.deleted_at.clone())
    };
    let twice: Vec<_> = added.iter().filter(|(_, n)| **n > 1).collect();
    if !twice.is_empty() {
        let records = audit.lock().unwrap().clone();
        for (key, _) in &twice {
            let esc = key.rsplit('/').next().unwrap_or_default().trim_start_matches("kudo-");
            let esc = esc.rsplit_once('-').map_or(esc, |(e, _)| e);
            let mine: Vec<_> = records
                .iter()
                .filter(|r| r["escalation"] == esc)
                .map(|r| format!("{} {} {}", r["action"], r["state"], r["text"]))
                .collect();
            let now = escalations.iter().find(|e| e.name_any() == esc).map(|e| format!("{:#?}", e.status));
            let binding = key.rsplit('/').next().unwrap_or_default();
            let logged: Vec<String> = std::fs::read_to_string(cluster.dir().join("controller.log"))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(binding) || l.contains(esc))
                .map(String::from)
                .collect();
            report(format!("{key}: audit {mine:#?}\nstatus now: {now:?}\ncontroller log: {logged:#?}"));
        }
    }
    assert!(twice.is_empty(), "created more than once: {twice:?}");
    // 4. Every state an escalation reached has an audit record. A record
    // follows its status write by the time it takes to cross the pipe.
    let unaudited = |escalations: &[Escalation]| -> Vec<String> {
        let records = audit.lock().unwrap().clone();
        let audited: BTreeSet<(String, String)> = records
            .iter()
            .filter(|r| r["action"] == "transition")
            .map(|r| {
                (
                    r["escalation"].as_str().unwrap_or_default().to_string(),
                    r["state"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let mut missing = Vec::new();
        for e in escalations {
            let s = e.status.as_ref().unwrap();
            let mut reached = vec![s.state.as_str()];
            if s.accepted_at.is_some() && s.state != EscalationState::Accepted {
                reached.push("ACCEPTED");
            }
            for state in reached {
                if !audited.contains(&(e.name_any(), state.to_string())) {
                    missing.push(format!("{} becoming {state}", e.name_any()));
                }
            }
        }
        missing
    };
    let mut missing = unaudited(&escalations);
    if !missing.is_empty() {
        tokio::time::sleep(Duration::from_secs(2)).await;
        missing = unaudited(&escalations);
    }
    assert!(missing.is_empty(), "no audit record of: {missing:#?}");
    let records = audit.lock().unwrap().clone();
    // 5. The controller is alive.
    assert!(controller.alive(), "the controller died");

    let lags: Vec<f64> = escalations
        .iter()
        .filter(|e| e.state() == Some(EscalationState::Expired))
        .flat_map(|e| {
            let s = e.status.as_ref().unwrap();
            let expires = s.expires_at.as_ref().map(|t| t.0);
            s.grant_refs
                .iter()
                .filter_map(|r| {
                    let key = format!("{}/{}", r.reference.namespace.clone().unwrap_or_default(), r.reference.name);
                    Some(deleted_at.get(&key)?.duration_since(expires?).as_secs_f64())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let worst = lags.iter().copied().fold(0.0f64, f64::max);
    let by_state = |s: EscalationState| escalations.iter().filter(|e| e.state() == Some(s)).count();
    report(format!(
        "chaos: {} escalations ({} ACCEPTED, {} DENIED, {} EXPIRED, {} PENDING at the end, {} deleted), {killed} kills, {exits} exits on a lost Lease, {} audit records",
        created.len(),
        by_state(EscalationState::Accepted),
        by_state(EscalationState::Denied),
        by_state(EscalationState::Expired),
        by_state(EscalationState::Pending),
        created.len() - escalations.len(),
        records.len(),
    ));
    report(format!(
        "chaos: faults {} of {} controller requests ({:.1}%): {counts:?}; worst revocation lag {worst:.2}s over {} reclaimed grants",
        counts.failed(),
        counts.requests,
        100.0 * counts.failed() as f64 / counts.requests.max(1) as f64,
        lags.len()
    ));
    assert!(killed >= 3, "{killed} kills");
    assert!(counts.failed() as f64 >= 0.05 * counts.requests as f64, "fewer than 5% of requests failed: {counts:?}");
}
