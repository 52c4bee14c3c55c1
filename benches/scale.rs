//! Grant latency, revocation lag and controller footprint at scale (issue 6).
//!
//! `cargo bench --bench scale` starts the fake API server in this process,
//! applies kudo's manifests, runs the release `kubectl-kudo controller` as a
//! separate process (so its memory and CPU are its own), creates N
//! escalations of a challenge-free policy as alice, and watches them get
//! granted and reclaimed. It prints a table and writes
//! `target/kudo-bench.json`. `KUDO_BENCH_N=100,1000` picks the sizes;
//! `KUDO_BENCH_FOREIGN=0` skips the 50 000-foreign-RoleBindings run;
//! `KUDO_BENCH_LOG=info` shows the controller's log.

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use fake_apiserver::{Account, FakeApiServer};
use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::{
    Api, Client, ResourceExt,
    api::{ApiResource, DynamicObject, GroupVersionKind, PostParams},
    runtime::{WatchStreamExt, watcher},
};
use kudo::api::{Escalation, EscalationState, GrantStatus};
use serde_json::{Value, json};

const SA: &str = "system:serviceaccount:kudo-system:kudo-controller";

#[derive(Default, Clone)]
struct Sample {
    created: Option<Timestamp>,
    granted: Option<Timestamp>,
    expires: Option<Timestamp>,
    reclaimed: Option<Timestamp>,
}

#[derive(serde::Serialize)]
struct Report {
    escalations: usize,
    foreign_role_bindings: usize,
    duration_secs: u64,
    grant_latency_ms: Percentiles,
    revocation_lag_ms: Percentiles,
    controller_peak_rss_mib: f64,
    controller_cpu_secs: f64,
    controller_cpu_secs_per_1000: f64,
    /// This process: the fake API server and the bench's own clients.
    apiserver_cpu_secs: f64,
    list_all_ms: Option<f64>,
    list_all_cpu_ms: Option<f64>,
    wall_secs: f64,
}

#[derive(serde::Serialize, Clone, Copy)]
struct Percentiles {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| if v.is_empty() { f64::NAN } else { v[((v.len() as f64 - 1.0) * q).round() as usize] };
    Percentiles { p50: at(0.5), p99: at(0.99), max: at(1.0), n: v.len() }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let sizes: Vec<usize> = std::env::var("KUDO_BENCH_N")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let foreign = std::env::var("KUDO_BENCH_FOREIGN").map_or(50_000, |v| v.parse().unwrap_or(0));
    let mut reports = Vec::new();
    for &n in &sizes {
        reports.push(runtime.block_on(run(n, 0)));
    }
    if foreign > 0 {
        reports.push(runtime.block_on(run(1000, foreign)));
    }
    print_table(&reports);
    let json = serde_json::to_string_pretty(&json!({
        "machine": machine(),
        "date": Timestamp::now().to_string(),
        "runs": reports,
    }))
    .expect("report serialises");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/kudo-bench.json");
    std::fs::write(&path, json).expect("writing the report");
    println!("\nreport: {}", path.display());
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!("{cpus} cores, {model}")
}

async fn run(n: usize, foreign: usize) -> Report {
    let started = Instant::now();
    let own_cpu_before = footprint("self").1;
    let fake = FakeApiServer::start_with_history(
        vec![
            Account::new("alice", &["squad-a"]),
            Account::new(SA, &["system:serviceaccounts", "system:serviceaccounts:kudo-system"]),
        ],
        1_000_000,
    )
    .await
    .expect("fake starts");
    let admin = fake.client("admin").await;
    install(&admin).await;
    if foreign > 0 {
        let bindings = (0..foreign).map(|i| {
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": format!("foreign-{i}"), "namespace": "app", "labels": {"team": "other"}},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("user-{i}")}],
            })
        });
        fake.seed(bindings).expect("seeding foreign bindings");
    }
    // Long enough that every grant lands before the first expiry.
    let duration_secs: u64 = match n {
        0..=200 => 5,
        201..=2000 => 15,
        _ => 75,
    };
    create(&admin, policy(duration_secs)).await;

    let controller = start_controller(&fake);
    let samples: Arc<Mutex<HashMap<String, Sample>>> = Arc::default();
    let watchers = watch(&admin, samples.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;

    let alice: Api<Escalation> = Api::all(fake.client("alice").await);
    futures::stream::iter(0..n)
        .map(|_| {
            let alice = alice.clone();
            let samples = samples.clone();
            async move {
                let created = alice.create(&PostParams::default(), &escalation()).await.expect("escalation created");
                let at = Timestamp::now();
                samples.lock().expect("samples").entry(created.name_any()).or_default().created = Some(at);
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;

    // Everything granted, then everything reclaimed.
    let deadline = Instant::now() + Duration::from_secs(duration_secs * 3 + 120);
    loop {
        let done = {
            let s = samples.lock().expect("samples");
            s.len() >= n && s.values().all(|x| x.reclaimed.is_some() && x.granted.is_some())
        };
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (list_all_ms, list_all_cpu_ms) = match foreign == 0 && n >= 1000 {
        true => {
            let (wall, cpu) = list_all(&fake);
            (Some(wall), Some(cpu))
        }
        false => (None, None),
    };
    let (rss, cpu) = footprint(&controller.0.id().to_string());
    let apiserver_cpu_secs = footprint("self").1 - own_cpu_before;
    drop(controller);
    watchers.abort();

    let samples = samples.lock().expect("samples").clone();
    let grant: Vec<f64> =
        samples.values().filter_map(|s| Some(s.granted?.duration_since(s.created?).as_secs_f64() * 1000.0)).collect();
    let lag: Vec<f64> =
        samples.values().filter_map(|s| Some(s.reclaimed?.duration_since(s.expires?).as_secs_f64() * 1000.0)).collect();
    Report {
        escalations: n,
        foreign_role_bindings: foreign,
        duration_secs,
        grant_latency_ms: percentiles(grant),
        revocation_lag_ms: percentiles(lag),
        controller_peak_rss_mib: rss,
        controller_cpu_secs: cpu,
        controller_cpu_secs_per_1000: cpu * 1000.0 / n.max(1) as f64,
        apiserver_cpu_secs,
        list_all_ms,
        list_all_cpu_ms,
        wall_secs: started.elapsed().as_secs_f64(),
    }
}

fn escalation() -> Escalation {
    serde_json::from_value(json!({
        "metadata": {"generateName": "bench-"},
        "spec": {"policyName": "bench", "requestor": "alice", "requestorGroups": ["squad-a", "system:authenticated"],
                 "reason": "benchmark"},
    }))
    .expect("escalation")
}

fn policy(duration_secs: u64) -> Value {
    json!({
        "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "EscalationPolicy",
        "metadata": {"name": "bench"},
        "spec": {
            "subjects": [{"kind": "Group", "name": "squad-a"}],
            // One requestor holds every escalation of the run.
            "maxOpenPerRequestor": 10000,
            "target": {"defaultDuration": format!("{duration_secs}s"), "maxDuration": "1h",
                       "grants": [{"kind": "KubernetesRoleBinding", "defaultNamespace": "app",
                                   "roleRef": {"kind": "ClusterRole", "name": "pod-reader"}}]},
        },
    })
}

async fn install(admin: &Client) {
    let yaml = kudo::manifests::render(&kudo::manifests::Options::default()).expect("manifests");
    for doc in serde_saphyr::from_multiple::<Value>(&yaml).expect("manifests parse") {
        create(admin, doc).await;
    }
    create(admin, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})).await;
    create(admin, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "everyone-kudo"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kudo-user"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}],
    }))
    .await;
    create(
        admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        }),
    )
    .await;
}

async fn create(client: &Client, doc: Value) {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
    let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
    let gvk = GroupVersionKind::gvk(group, version, doc["kind"].as_str().unwrap_or_default());
    let (resource, caps): (ApiResource, _) = kube::discovery::pinned_kind(client, &gvk).await.expect("kind served");
    let obj: DynamicObject = serde_json::from_value(doc).expect("object");
    let api: Api<DynamicObject> = match (caps.scope, obj.metadata.namespace.as_deref()) {
        (kube::discovery::Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resource),
        _ => Api::all_with(client.clone(), &resource),
    };
    api.create(&PostParams::default(), &obj).await.expect("created");
}

/// Kills the controller process however the run ends (a panic included).
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        // SIGTERM first, as Kubernetes stops it; SIGKILL if it lingers.
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_controller(fake: &FakeApiServer) -> Controller {
    let log = std::env::var("KUDO_BENCH_LOG").unwrap_or_else(|_| "warn".into());
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(18080);
    Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
        .arg("--kubeconfig")
        .arg(fake.kubeconfig_path())
        .args(["--context", SA, "controller", "--log", &log, "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map(Controller)
        .expect("controller starts")
}

/// Records when each escalation is fully granted and when its binding goes.
fn watch(admin: &Client, samples: Arc<Mutex<HashMap<String, Sample>>>) -> tokio::task::JoinHandle<()> {
    let escalations: Api<Escalation> = Api::all(admin.clone());
    let bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), "app");
    let esc_samples = samples.clone();
    let esc = watcher(escalations, watcher::Config::default()).default_backoff().applied_objects().for_each(move |e| {
        let now = Timestamp::now();
        let e = match e {
            Ok(e) => e,
            Err(error) => {
                eprintln!("escalation watch: {error}");
                return futures::future::ready(());
            }
        };

        if let Some(status) = &e.status {
            let mut s = esc_samples.lock().expect("samples");
            let sample = s.entry(e.name_any()).or_default();
            let granted = status.state == EscalationState::Accepted
                && status.grant_refs.iter().all(|r| r.status == GrantStatus::Created);
            if granted && sample.granted.is_none() {
                sample.granted = Some(now);
            }
            sample.expires = status.expires_at.as_ref().map(|t| t.0);
        }
        futures::future::ready(())
    });
    let config = watcher::Config::default().labels("app.kubernetes.io/managed-by=kudo");
    let rb = watcher(bindings, config).default_backoff().for_each(move |event| {
        if let Err(error) = &event {
            eprintln!("binding watch: {error}");
        }
        if let Ok(watcher::Event::Delete(b)) = event {
            let now = Timestamp::now();
            if let Some(name) = b.labels().get("k8s.kudo.dev/escalation") {
                samples.lock().expect("samples").entry(name.clone()).or_default().reclaimed.get_or_insert(now);
            }
        }
        futures::future::ready(())
    });
    tokio::spawn(async move {
        let _ = futures::future::join(esc, rb).await;
    })
}

/// `kubectl-kudo list --all`: the median of 3 runs' wall time, and that
/// run's own CPU time (its share, as opposed to the API server's), in ms.
fn list_all(fake: &FakeApiServer) -> (f64, f64) {
    let mut runs: Vec<(f64, f64)> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
                .arg("--kubeconfig")
                .arg(fake.kubeconfig_path())
                .args(["list", "--all"])
                .stdout(Stdio::null())
                .spawn()
                .expect("list runs");
            // Until it is reaped, an exited process still shows its CPU time.
            let pid = child.id().to_string();
            let cpu = loop {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                if stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')) {
                    break footprint(&pid).1 * 1000.0;
                }
                std::thread::sleep(Duration::from_micros(200));
            };
            let wall = started.elapsed().as_secs_f64() * 1000.0;
            assert!(child.wait().expect("list exits").success(), "kubectl-kudo list --all failed");
            (wall, cpu)
        })
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs[1]
}

/// Peak RSS (MiB) and CPU seconds of a process (a pid or "self"), from /proc.
fn footprint(pid: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    // utime and stime are fields 14 and 15; USER_HZ is 100 on Linux.
    (hwm_kib / 1024.0, (ticks(11) + ticks(12)) / 100.0)
}

fn print_table(reports: &[Report]) {
    println!(
        "\n{:>7} {:>8} {:>22} {:>22} {:>9} {:>9} {:>11} {:>11} {:>14}",
        "N",
        "foreign",
        "grant ms p50/p99/max",
        "revoke ms p50/p99/max",
        "RSS MiB",
        "CPU s",
        "CPU s/1000",
        "fake CPU s",
        "list ms (CPU)"
    );
    for r in reports {
        let p = |x: Percentiles| format!("{:.0}/{:.0}/{:.0}", x.p50, x.p99, x.max);
        println!(
            "{:>7} {:>8} {:>22} {:>22} {:>9.1} {:>9.2} {:>11.2} {:>11.2} {:>14}",
            r.escalations,
            r.foreign_role_bindings,
            p(r.grant_latency_ms),
            p(r.revocation_lag_ms),
            r.controller_peak_rss_mib,
            r.controller_cpu_secs,
            r.controller_cpu_secs_per_1000,
            r.apiserver_cpu_secs,
            match (r.list_all_ms, r.list_all_cpu_ms) {
                (Some(wall), Some(cpu)) => format!("{wall:.0} ({cpu:.0})"),
                _ => "-".into(),
            },
        );
    }
}
