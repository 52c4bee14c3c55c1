//! kudo at scale, on a real kube-apiserver (kudo-testenv, v1.36) and on the
//! in-process fake, measured in one run (issues 16, 17, 18).
//!
//! `cargo bench --bench scale` sets each scenario up on a fresh cluster with
//! kudo installed (the same set-up as the end-to-end tests), runs the release
//! `kubectl-kudo controller` as a process of its own (so its memory and CPU
//! are its own), drives it as alice (and dave, for the flood), and watches
//! what happens. It prints the table with both backends side by
//! side, writes `target/kudo-bench.json`, and prints the difference from the
//! previous report when there is one.
//!
//! Scenarios:
//! - `idle`: one escalation at a time; create's response -> ACCEPTED with
//!   every binding created (the physical floor: status write, create, status
//!   write).
//! - `burst`: N_BURST created at once (64 in flight): when the last is
//!   ACCEPTED after the last create returned, and how many were DENIED.
//! - `expiry`: N_BURST made to expire in the same second (each asks for the
//!   duration that ends then): `expiresAt` -> binding deleted.
//! - `spread`: N_SPREAD created as fast as the API allows (32 in flight)
//!   and all ACCEPTED; `kubectl kudo list --all`; then, while they are all
//!   active, a sample of N/10 (at most 300) more created ten a second for
//!   30 s each: its revocation lag is the row's. The N then expire as fast
//!   as they were created (a row of their own). RSS, CPU per lifecycle.
//! - `growth`: `spread` at N_GROWTH (100), so that the cost per lifecycle
//!   at 100 and at N_SPREAD gives the slope.
//! - `flood`: dave creates N_FLOOD escalations naming no policy while alice
//!   escalates: RSS, alice's latency, what the cap keeps.
//!
//! Environment: `KUDO_BENCH_BACKENDS=real,fake`, `KUDO_BENCH_SCENARIOS=idle,
//! growth,burst,expiry,spread,flood`, `KUDO_BENCH_N_GROWTH=100`, `KUDO_BENCH_N_BURST=1000`,
//! `KUDO_BENCH_N_SPREAD=10000`, `KUDO_BENCH_N_FLOOD=20000`,
//! `KUDO_BENCH_LOG=info` (the controller's log), `KUDO_BENCH_WRAP="heaptrack -o F"`
//! (the controller under a profiler), `KUDO_BENCH_CONTROLLER_ARGS="--concurrency 64"`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::{
    collections::{BTreeMap, HashMap},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::{
    Api, Client, ResourceExt,
    api::PostParams,
    runtime::{WatchStreamExt, watcher},
};
use kudo::api::{Escalation, EscalationState, GrantStatus};
use serde::Serialize;
use serde_json::{Value, json};
use support::{Backend, BackendKind, Cluster, SA};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name).unwrap_or_else(|_| default.into()).split(',').map(|s| s.trim().to_string()).collect()
}

#[derive(Serialize, Clone, Copy, Default, Debug)]
struct Percentiles {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    if v.is_empty() {
        return Percentiles { p50: f64::NAN, p99: f64::NAN, max: f64::NAN, n: 0 };
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Percentiles { p50: at(0.5), p99: at(0.99), max: at(1.0), n: v.len() }
}

/// One scenario on one backend.
#[derive(Serialize, Default, Debug)]
struct Run {
    backend: String,
    scenario: String,
    escalations: usize,
    grant_latency_ms: Option<Percentiles>,
    /// spread and growth: of the sample that expires while the N are active.
    revocation_lag_ms: Option<Percentiles>,
    /// spread and growth: of the N, expiring as fast as they were created.
    revocation_lag_at_creation_rate_ms: Option<Percentiles>,
    /// spread and growth: whether the sample's last expiry came after the
    /// first of the N expired (then its lag is not with the N all active).
    sample_overlapped: Option<bool>,
    /// expiry: how many of the N expired in the one second they were made to.
    expiring_in_the_second: Option<usize>,
    /// expiry: from `expiresAt` to the last status saying EXPIRED, s.
    expired_written_after_s: Option<f64>,
    /// From the last create's response to the last ACCEPTED.
    all_accepted_after_s: Option<f64>,
    denied: usize,
    /// Peak RSS over the whole scenario.
    controller_peak_rss_mib: f64,
    /// spread and growth: peak RSS until all N were active (before any expired).
    controller_rss_all_active_mib: Option<f64>,
    controller_cpu_s: f64,
    /// Controller CPU per escalation, granted and reclaimed.
    cpu_ms_per_lifecycle: Option<f64>,
    /// The API server's CPU (kudo-testenv's process; for the fake, this
    /// benchmark's process, which also runs the benchmark's clients).
    apiserver_cpu_s: f64,
    list_all_ms: Option<f64>,
    /// Flood: alice's escalation made during it.
    other_user_accept_ms: Option<f64>,
    /// Flood: dave's escalations left once it settled (the cap keeps 100).
    flooder_kept: Option<usize>,
    /// What the API server served during the scenario, per escalation, by
    /// "VERB resource[/subresource]" (kube-apiserver's own
    /// `apiserver_request_total`; the benchmark's own creates and watches
    /// are in it). Real server only.
    api_requests_per_lifecycle: Option<BTreeMap<String, f64>>,
    /// The controller's reconciles per escalation (its own metrics).
    reconciles_per_lifecycle: Option<f64>,
    wall_s: f64,
}

#[derive(Default, Clone)]
struct Sample {
    created: Option<Timestamp>,
    granted: Option<Timestamp>,
    denied: bool,
    expires: Option<Timestamp>,
    reclaimed: Option<Timestamp>,
    /// When its status said EXPIRED (or DENIED).
    ended: Option<Timestamp>,
}

type Samples = Arc<Mutex<HashMap<String, Sample>>>;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let backends = list("KUDO_BENCH_BACKENDS", "real,fake");
    let scenarios = list("KUDO_BENCH_SCENARIOS", "idle,growth,burst,expiry,spread,flood");
    let mut runs = Vec::new();
    for scenario in &scenarios {
        for backend in &backends {
            let kind = match backend.as_str() {
                "real" => BackendKind::Real,
                "fake" => BackendKind::Fake,
                other => panic!("KUDO_BENCH_BACKENDS: unknown backend {other}"),
            };
            eprintln!("== {scenario} on {backend}");
            let run = runtime.block_on(run(kind, scenario));
            eprintln!("{run:?}");
            runs.push(run);
        }
    }
    print_table(&runs);
    // Cargo's target directory (CARGO_TARGET_DIR when set), where the bench binary runs from.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let _ = std::fs::create_dir_all(&target);
    let path = target.join("kudo-bench.json");
    if let Ok(previous) = std::fs::read_to_string(&path) {
        print_difference(&previous, &runs);
    }
    let report = json!({"machine": machine(), "date": Timestamp::now().to_string(), "runs": runs});
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("report")).expect("writing the report");
    println!("\nreport: {}", path.display());
}

async fn run(kind: BackendKind, scenario: &str) -> Run {
    let started = Instant::now();
    let cluster = Cluster::on(kind).await;
    let admin = cluster.client("admin").await;
    let server_cpu_before = server_cpu(&cluster.api);
    let requests_before = api_requests(&cluster.api, &admin).await;
    let mut run = Run {
        backend: match kind {
            BackendKind::Real => "real",
            BackendKind::Fake => "fake",
        }
        .into(),
        scenario: scenario.into(),
        ..Run::default()
    };
    // Only the flood measures the per-requestor cap; elsewhere one requestor
    // holds every escalation of the run.
    let cap = if scenario == "flood" { 100 } else { 1_000_000 };
    let (controller, metrics_port) = start_controller(&cluster, cap);
    let samples: Samples = Arc::default();
    let watching = watch(&admin, samples.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alice: Api<Escalation> = Api::all(cluster.client("alice").await);
    match scenario {
        "idle" => {
            let n = env("KUDO_BENCH_N_IDLE", 100);
            cluster.policy(policy("bench", 600, n)).await;
            for _ in 0..n {
                let name = create(&alice, &samples, escalation("bench")).await;
                wait_until(&samples, Duration::from_secs(30), |s| s.get(&name).is_some_and(|x| x.granted.is_some()))
                    .await;
            }
            run.escalations = n;
            run.grant_latency_ms = Some(grant_latencies(&samples));
        }
        "burst" => {
            let n = env("KUDO_BENCH_N_BURST", 1000);
            cluster.policy(policy("bench", 20, n)).await;
            let last_created = create_many(&alice, &samples, n, 64, |_| escalation("bench")).await;
            wait_until(&samples, Duration::from_secs(600), |s| s.values().all(|x| x.granted.is_some() || x.denied))
                .await;
            let last_granted = samples.lock().expect("samples").values().filter_map(|x| x.granted).max();
            run.escalations = n;
            run.denied = samples.lock().expect("samples").values().filter(|x| x.denied).count();
            run.grant_latency_ms = Some(grant_latencies(&samples));
            run.all_accepted_after_s = last_granted.map(|g| g.duration_since(last_created).as_secs_f64());
            wait_until(&samples, Duration::from_secs(600), |s| s.values().all(|x| x.reclaimed.is_some() || x.denied))
                .await;
            run.revocation_lag_ms = Some(revocation_lags(&samples, |_| true));
        }
        "expiry" => {
            // All N expire in the same second. `expiresAt` is the second of
            // acceptance plus the duration (DESIGN), and one requestor's N
            // are accepted over seconds, so each asks for the duration
            // that ends at the same second `at`: created early enough in a
            // second to be accepted within it (idle grant latency is tens
            // of ms), 8 at a time, each granted before the next is made.
            let n = env("KUDO_BENCH_N_BURST", 1000);
            cluster.policy(policy("bench", 20, n)).await;
            let at = Timestamp::now().as_second() + 30 + i64::try_from(n / 50).unwrap_or(0);
            futures::stream::iter(0..n)
                .map(|_| async {
                    let mut now = Timestamp::now();
                    while now.subsec_millisecond() > 700 {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        now = Timestamp::now();
                    }
                    let mut e = escalation("bench");
                    e.spec.duration = Some(kudo::api::DurationText::new(format!("{}s", at - now.as_second())));
                    let name = create(&alice, &samples, e).await;
                    let granted =
                        |s: &HashMap<String, Sample>| s.get(&name).is_some_and(|x| x.granted.is_some() || x.denied);
                    wait_until(&samples, Duration::from_secs(60), granted).await;
                })
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await;
            // Every binding gone, and every status EXPIRED.
            wait_until(&samples, Duration::from_secs(600), |s| {
                s.values().all(|x| (x.reclaimed.is_some() && x.ended.is_some()) || x.denied)
            })
            .await;
            run.escalations = n;
            run.denied = samples.lock().expect("samples").values().filter(|x| x.denied).count();
            run.expired_written_after_s = samples
                .lock()
                .expect("samples")
                .values()
                .filter_map(|x| Some(x.ended?.duration_since(x.expires?).as_secs_f64()))
                .max_by(f64::total_cmp);
            run.expiring_in_the_second = Some(
                samples
                    .lock()
                    .expect("samples")
                    .values()
                    .filter(|x| x.expires.map(|t| t.as_second()) == Some(at))
                    .count(),
            );
            run.revocation_lag_ms = Some(revocation_lags(&samples, |_| true));
        }
        "spread" | "growth" => {
            let n = match scenario {
                "growth" => env("KUDO_BENCH_N_GROWTH", 100),
                _ => env("KUDO_BENCH_N_SPREAD", 10_000),
            };
            // The N stay active while a sample of S more, created ten a
            // second for 30 s each, expires: the revocation lag with N active
            // and expiries as spread as a cluster's (a few a second), not in
            // the minutes when the creates keep both cores busy. The N then
            // expire as fast as they were created (their own row). Their
            // duration leaves the sample time to end before the first of them
            // expires (`sample_overlapped` says when it did not). The sample
            // has a policy of its own: a requestor's cap counts per policy,
            // and the N fill bench's (10 000 at most).
            let sample_n = (n / 10).clamp(1, 300);
            let background_secs = 60 + n as u64 * 3 / 100;
            cluster.policy(policy("bench", background_secs, n)).await;
            cluster.policy(policy("sample", 30, sample_n)).await;
            create_many(&alice, &samples, n, 32, |_| escalation("bench")).await;
            wait_until(&samples, Duration::from_secs(900), |s| s.values().all(|x| x.granted.is_some() || x.denied))
                .await;
            // The controller's peak so far: all N active, none expired yet.
            run.controller_rss_all_active_mib = Some(footprint(&controller.0.id().to_string()).0);
            if scenario == "spread" {
                run.list_all_ms = Some(list_all(&cluster));
            }
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut sample = std::collections::HashSet::new();
            for _ in 0..sample_n {
                tick.tick().await;
                sample.insert(create(&alice, &samples, escalation("sample")).await);
            }
            wait_until(&samples, Duration::from_secs(300), |s| {
                sample.iter().all(|n| s.get(n).is_some_and(|x| x.reclaimed.is_some() || x.denied))
            })
            .await;
            {
                let s = samples.lock().expect("samples");
                let last_sample = sample.iter().filter_map(|n| s.get(n)?.reclaimed).max();
                let first_other = s.iter().filter(|(n, _)| !sample.contains(*n)).filter_map(|(_, x)| x.expires).min();
                run.sample_overlapped = Some(last_sample.zip(first_other).is_some_and(|(l, f)| l >= f));
            }
            run.revocation_lag_ms = Some(revocation_lags(&samples, |name| sample.contains(name)));
            wait_until(&samples, Duration::from_secs(900), |s| s.values().all(|x| x.reclaimed.is_some() || x.denied))
                .await;
            run.revocation_lag_at_creation_rate_ms = Some(revocation_lags(&samples, |name| !sample.contains(name)));
            run.escalations = n + sample_n;
            run.denied = samples.lock().expect("samples").values().filter(|x| x.denied).count();
            run.grant_latency_ms = Some(grant_latencies(&samples));
        }
        "flood" => {
            let n = env("KUDO_BENCH_N_FLOOD", 20_000);
            cluster.policy(policy("bench", 600, 10)).await;
            let dave: Api<Escalation> = Api::all(cluster.client("dave").await);
            let flood = tokio::spawn({
                let samples = samples.clone();
                async move {
                    create_many(&dave, &samples, n, 32, |i| {
                        serde_json::from_value(json!({
                            "metadata": {"name": format!("junk-{i}")},
                            "spec": {"policyName": "no-such-policy", "requestor": "dave",
                                     "requestorGroups": ["system:authenticated"], "reason": "x"},
                        }))
                        .expect("junk")
                    })
                    .await
                }
            });
            // Half-way through the flood, alice asks.
            wait_until(&samples, Duration::from_secs(900), |s| s.len() >= n / 2).await;
            let t = Instant::now();
            let name = create(&alice, &samples, escalation("bench")).await;
            wait_until(&samples, Duration::from_secs(120), |s| s.get(&name).is_some_and(|x| x.granted.is_some())).await;
            run.other_user_accept_ms = Some(t.elapsed().as_secs_f64() * 1000.0);
            let _ = flood.await;
            run.escalations = n;
            let all: Api<Escalation> = Api::all(admin.clone());
            let deadline = Instant::now() + Duration::from_secs(1800);
            loop {
                let kept = all
                    .list(&Default::default())
                    .await
                    .map(|l| l.items.iter().filter(|e| e.spec.requestor == "dave").count())
                    .unwrap_or(usize::MAX);
                if kept <= 100 || Instant::now() > deadline {
                    run.flooder_kept = Some(kept);
                    break;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        other => panic!("KUDO_BENCH_SCENARIOS: unknown scenario {other}"),
    }
    let (rss, cpu) = footprint(&controller.0.id().to_string());
    let reconciles = controller_reconciles(metrics_port).await;
    if let (Some(before), Some(after)) = (requests_before, api_requests(&cluster.api, &admin).await)
        && run.escalations > 0
    {
        let per = |key: &String, n: &f64| (key.clone(), (n - before.get(key).unwrap_or(&0.0)) / run.escalations as f64);
        run.api_requests_per_lifecycle =
            Some(after.iter().map(|(k, n)| per(k, n)).filter(|(_, n)| *n >= 0.01).collect());
    }
    if run.escalations > 0 {
        run.reconciles_per_lifecycle = reconciles.map(|r| r / run.escalations as f64);
    }
    run.controller_peak_rss_mib = rss;
    run.controller_cpu_s = cpu;
    if matches!(scenario, "burst" | "spread" | "growth") && run.escalations > 0 {
        run.cpu_ms_per_lifecycle = Some(cpu * 1000.0 / run.escalations as f64);
    }
    run.apiserver_cpu_s = server_cpu(&cluster.api) - server_cpu_before;
    drop(controller);
    watching.abort();
    run.wall_s = started.elapsed().as_secs_f64();
    run
}

fn escalation(policy: &str) -> Escalation {
    let spec = json!({"policyName": policy, "requestor": "alice",
                      "requestorGroups": ["squad-a", "system:authenticated"], "reason": "benchmark"});
    // As the CLI creates it: with kudo's finalizer already on.
    serde_json::from_value(
        json!({"metadata": {"generateName": "bench-", "finalizers": [kudo::api::FINALIZER]}, "spec": spec}),
    )
    .expect("escalation")
}

fn policy(name: &str, duration_secs: u64, open: usize) -> Value {
    json!({
        "metadata": {"name": name},
        "spec": {
            "subjects": [{"kind": "Group", "name": "squad-a"}],
            "maxOpenPerRequestor": open.clamp(1, 10_000),
            "pendingTimeout": "10m",
            "target": {"defaultDuration": format!("{duration_secs}s"), "maxDuration": "1h",
                       "grants": [{"kind": "KubernetesRoleBinding", "defaultNamespace": "app",
                                   "roleRef": {"kind": "ClusterRole", "name": "pod-reader"}}]},
        },
    })
}

async fn create(api: &Api<Escalation>, samples: &Samples, e: Escalation) -> String {
    let created = api.create(&PostParams::default(), &e).await.expect("escalation created");
    let now = Timestamp::now();
    let name = created.name_any();
    samples.lock().expect("samples").entry(name.clone()).or_default().created = Some(now);
    name
}

/// Creates `n`, `parallel` in flight; returns when the last create returned.
async fn create_many(
    api: &Api<Escalation>,
    samples: &Samples,
    n: usize,
    parallel: usize,
    make: impl Fn(usize) -> Escalation,
) -> Timestamp {
    futures::stream::iter((0..n).map(make))
        .map(|e| create(api, samples, e))
        .buffer_unordered(parallel)
        .collect::<Vec<_>>()
        .await;
    Timestamp::now()
}

async fn wait_until(samples: &Samples, limit: Duration, done: impl Fn(&HashMap<String, Sample>) -> bool) {
    let deadline = Instant::now() + limit;
    while !done(&samples.lock().expect("samples")) {
        let denied = samples.lock().expect("samples").values().filter(|s| s.denied).count();
        assert!(Instant::now() < deadline, "timed out after {limit:?} ({denied} denied)");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn grant_latencies(samples: &Samples) -> Percentiles {
    let s = samples.lock().expect("samples");
    percentiles(s.values().filter_map(|x| Some(x.granted?.duration_since(x.created?).as_secs_f64() * 1000.0)).collect())
}

/// `expiresAt` -> binding deleted, of the escalations whose name `of` keeps.
fn revocation_lags(samples: &Samples, of: impl Fn(&str) -> bool) -> Percentiles {
    let s = samples.lock().expect("samples");
    percentiles(
        s.iter()
            .filter(|(name, _)| of(name))
            .filter_map(|(_, x)| Some(x.reclaimed?.duration_since(x.expires?).as_secs_f64() * 1000.0))
            .collect(),
    )
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

fn start_controller(cluster: &Cluster, cap: usize) -> (Controller, u16) {
    let log = std::env::var("KUDO_BENCH_LOG").unwrap_or_else(|_| "warn".into());
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(18080);
    // KUDO_BENCH_WRAP runs the controller under a profiler (its figures
    // are then the profiler's too): `perf record -g -o F`, `heaptrack -o F`.
    let wrap = std::env::var("KUDO_BENCH_WRAP").unwrap_or_default();
    let mut wrap = wrap.split_whitespace();
    let mut command = match wrap.next() {
        Some(profiler) => {
            let mut c = Command::new(profiler);
            c.args(wrap).arg(env!("CARGO_BIN_EXE_kubectl-kudo"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_kubectl-kudo")),
    };
    command
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--context", SA, "controller", "--log", &log, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--retain-finished-per-requestor", &cap.to_string()])
        .args(std::env::var("KUDO_BENCH_CONTROLLER_ARGS").unwrap_or_default().split_whitespace())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map(|child| (Controller(child), port))
        .expect("controller starts")
}

/// `kudo_reconciles_total` from the controller's own /metrics.
async fn controller_reconciles(port: u16) -> Option<f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").await.ok()?;
    let mut text = String::new();
    conn.read_to_string(&mut text).await.ok()?;
    text.lines().find_map(|l| l.strip_prefix("kudo_reconciles_total ")).and_then(|v| v.trim().parse().ok())
}

/// kube-apiserver's `apiserver_request_total`, summed by verb and
/// resource (with its subresource); `None` on the fake.
async fn api_requests(api: &Backend, admin: &Client) -> Option<BTreeMap<String, f64>> {
    let Backend::Real(_) = api else { return None };
    let request = http::Request::get("/metrics").body(Vec::new()).ok()?;
    let text = admin.request_text(request).await.ok()?;
    let mut totals = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("apiserver_request_total{")) {
        let (labels, value) = line.rsplit_once(' ')?;
        let label = |name: &str| {
            labels.split(&format!("{name}=\"")[..]).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default()
        };
        let (verb, resource, sub) = (label("verb"), label("resource"), label("subresource"));
        let key = if sub.is_empty() { format!("{verb} {resource}") } else { format!("{verb} {resource}/{sub}") };
        *totals.entry(key).or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
    }
    Some(totals)
}

/// Records when each escalation is fully granted or denied, and when its binding goes.
fn watch(admin: &Client, samples: Samples) -> tokio::task::JoinHandle<()> {
    let escalations: Api<Escalation> = Api::all(admin.clone());
    let bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), "app");
    let esc_samples = samples.clone();
    let esc = watcher(escalations, watcher::Config::default()).default_backoff().applied_objects().for_each(move |e| {
        let now = Timestamp::now();
        if let Ok(e) = e
            && let Some(status) = &e.status
        {
            let mut s = esc_samples.lock().expect("samples");
            let sample = s.entry(e.name_any()).or_default();
            let granted = status.state == EscalationState::Accepted
                && status.grant_refs.iter().all(|r| r.status == GrantStatus::Created);
            if granted && sample.granted.is_none() {
                sample.granted = Some(now);
            }
            if status.state == EscalationState::Denied && sample.granted.is_none() {
                sample.denied = true;
            }
            if status.state.is_final() && sample.ended.is_none() {
                sample.ended = Some(now);
            }
            sample.expires = status.expires_at.as_ref().map(|t| t.0);
        }
        futures::future::ready(())
    });
    let config = watcher::Config::default().labels("app.kubernetes.io/managed-by=kudo");
    let rb = watcher(bindings, config).default_backoff().for_each(move |event| {
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

/// `kubectl-kudo list --all` as alice: the median of 3 runs, in ms.
fn list_all(cluster: &Cluster) -> f64 {
    let mut runs: Vec<f64> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
                .arg("--kubeconfig")
                .arg(cluster.kubeconfig_path())
                .args(["--context", "alice", "list", "--all"])
                .stdout(Stdio::null())
                .status()
                .expect("list runs");
            assert!(status.success(), "kubectl-kudo list --all failed");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[1]
}

/// CPU seconds of the API server so far.
fn server_cpu(api: &Backend) -> f64 {
    match api {
        Backend::Real(env) => footprint(&env.pid().to_string()).1,
        Backend::Fake(_) => footprint("self").1,
    }
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

fn pct(p: Option<Percentiles>) -> Option<String> {
    p.map(|p| format!("{:.0}/{:.0}/{:.0}", p.p50, p.p99, p.max))
}

/// The table: one row per target, real and fake side by side.
fn rows(runs: &[Run]) -> Vec<(String, String, BTreeMap<String, String>)> {
    let find = |backend: &str, scenario: &str| runs.iter().find(|r| r.backend == backend && r.scenario == scenario);
    type Cell = fn(&Run) -> Option<String>;
    let targets: Vec<(&str, &str, &str, Cell)> = vec![
        ("idle grant latency ms p50/p99/max", "p50 < 20, p99 < 50", "idle", |r| pct(r.grant_latency_ms)),
        ("revocation lag ms p50/p99/max, spread", "p99 < 100", "spread", |r| {
            pct(r.revocation_lag_ms)
                .map(|p| if r.sample_overlapped == Some(true) { format!("{p} (overlapped)") } else { p })
        }),
        ("spread: revocation lag ms p50/p99/max, the N at their creation rate", "-", "spread", |r| {
            pct(r.revocation_lag_at_creation_rate_ms)
        }),
        ("revocation lag ms p50/p99/max, 1 000 in 1 s", "p99 < 500", "expiry", |r| {
            let of = r.expiring_in_the_second.map(|k| format!(", {k} in the second")).unwrap_or_default();
            pct(r.revocation_lag_ms).map(|p| format!("{p}{of}"))
        }),
        ("expiry: every status EXPIRED, s after expiresAt", "-", "expiry", |r| {
            r.expired_written_after_s.map(|s| format!("{s:.2}"))
        }),
        ("burst: all ACCEPTED after last create, s", "< 10", "burst", |r| {
            r.all_accepted_after_s.map(|s| format!("{s:.2}"))
        }),
        ("burst: grant latency ms p50/p99/max", "-", "burst", |r| pct(r.grant_latency_ms)),
        ("burst: DENIED", "0", "burst", |r| Some(r.denied.to_string())),
        ("spread: DENIED", "0", "spread", |r| Some(r.denied.to_string())),
        ("controller RSS MiB, spread: peak until all active", "< 64", "spread", |r| {
            r.controller_rss_all_active_mib.map(|m| format!("{m:.1}"))
        }),
        ("controller RSS MiB, spread: peak of the whole run (the N expiring)", "-", "spread", |r| {
            Some(format!("{:.1}", r.controller_peak_rss_mib))
        }),
        ("controller CPU ms per lifecycle, burst", "< 3", "burst", |r| {
            r.cpu_ms_per_lifecycle.map(|c| format!("{c:.2}"))
        }),
        ("controller CPU ms per lifecycle, spread", "< 3, flat", "spread", |r| {
            r.cpu_ms_per_lifecycle.map(|c| format!("{c:.2}"))
        }),
        ("controller CPU ms per lifecycle, growth (N=100)", "flat", "growth", |r| {
            r.cpu_ms_per_lifecycle.map(|c| format!("{c:.2}"))
        }),
        ("burst: API writes / reads per lifecycle (the create included)", "3 + create, delete", "burst", |r| {
            requests(r)
        }),
        ("burst: reconciles per lifecycle", "-", "burst", |r| r.reconciles_per_lifecycle.map(|c| format!("{c:.1}"))),
        ("kubectl kudo list --all ms, spread", "< 300", "spread", |r| r.list_all_ms.map(|m| format!("{m:.0}"))),
        ("API server CPU s, spread", "-", "spread", |r| Some(format!("{:.1}", r.apiserver_cpu_s))),
        ("flood: controller RSS MiB", "bounded", "flood", |r| Some(format!("{:.1}", r.controller_peak_rss_mib))),
        ("flood: another user ACCEPTED after, ms", "< 5 000", "flood", |r| {
            r.other_user_accept_ms.map(|m| format!("{m:.0}"))
        }),
        ("flood: flooder's escalations kept", "<= 100", "flood", |r| r.flooder_kept.map(|k| k.to_string())),
    ];
    targets
        .into_iter()
        .map(|(what, target, scenario, cell)| {
            let mut cells = BTreeMap::new();
            for backend in ["real", "fake"] {
                let n = find(backend, scenario).map(|r| r.escalations).unwrap_or_default();
                let value = find(backend, scenario).and_then(cell).unwrap_or_else(|| "-".into());
                cells.insert(backend.to_string(), if n > 0 { format!("{value} (N={n})") } else { value });
            }
            (what.to_string(), target.to_string(), cells)
        })
        .collect()
}

/// Writes and reads per lifecycle, from the API server's counts.
fn requests(r: &Run) -> Option<String> {
    let counts = r.api_requests_per_lifecycle.as_ref()?;
    let sum = |verbs: &[&str]| -> f64 {
        counts.iter().filter(|(k, _)| verbs.iter().any(|v| k.starts_with(&format!("{v} ")))).map(|(_, n)| n).sum()
    };
    Some(format!("{:.1} / {:.1}", sum(&["POST", "PUT", "PATCH", "APPLY", "DELETE"]), sum(&["GET", "LIST"])))
}

fn print_table(runs: &[Run]) {
    println!("\n| metric | target | real kube-apiserver v1.36.3 | fake |\n|---|---|---:|---:|");
    for (what, target, cells) in rows(runs) {
        println!("| {what} | {target} | {} | {} |", cells["real"], cells["fake"]);
    }
    let slope = |backend: &str| -> Option<String> {
        let at = |scenario: &str| runs.iter().find(|r| r.backend == backend && r.scenario == scenario);
        let (small, large) = (at("growth")?, at("spread")?);
        let (a, b) = (small.cpu_ms_per_lifecycle?, large.cpu_ms_per_lifecycle?);
        let per_thousand = (b - a) * 1000.0 / (large.escalations as f64 - small.escalations as f64);
        Some(format!("{a:.2} -> {b:.2} ({:+.3} ms per 1 000 more)", per_thousand))
    };
    let cell = |b: &str| slope(b).unwrap_or_else(|| "-".into());
    println!(
        "| growth N={} -> {}: CPU ms per lifecycle, slope | flat | {} | {} |",
        runs.iter().find(|r| r.scenario == "growth").map_or(0, |r| r.escalations),
        runs.iter().find(|r| r.scenario == "spread").map_or(0, |r| r.escalations),
        cell("real"),
        cell("fake")
    );
}

/// What changed since the stored report, row by row (no threshold: a
/// reader judges; timing is never asserted).
fn print_difference(previous: &str, runs: &[Run]) {
    let Ok(previous) = serde_json::from_str::<Value>(previous) else { return };
    let Some(old) = previous["runs"].as_array() else { return };
    println!("\nsince the previous report ({}):", previous["date"].as_str().unwrap_or("?"));
    for run in runs {
        let Some(before) =
            old.iter().find(|o| o["backend"] == run.backend.as_str() && o["scenario"] == run.scenario.as_str())
        else {
            continue;
        };
        let now = serde_json::to_value(run).unwrap_or_default();
        for key in ["controller_peak_rss_mib", "controller_cpu_s", "apiserver_cpu_s", "list_all_ms"] {
            if let (Some(a), Some(b)) = (before[key].as_f64(), now[key].as_f64()) {
                println!("  {} {} {key}: {a:.2} -> {b:.2}", run.backend, run.scenario);
            }
        }
        for key in ["grant_latency_ms", "revocation_lag_ms"] {
            if let (Some(a), Some(b)) = (before[key]["p99"].as_f64(), now[key]["p99"].as_f64()) {
                println!("  {} {} {key} p99: {a:.0} -> {b:.0}", run.backend, run.scenario);
            }
        }
    }
}
