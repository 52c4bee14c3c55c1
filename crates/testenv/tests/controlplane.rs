//! kudo-testenv is a real control plane: the acceptance points of the
//! harness itself, checked through kubectl and kube-rs.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use serde_json::json;
use testenv::Testenv;

fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("kubectl").arg("--kubeconfig").arg(kubeconfig).args(args).output().expect("kubectl runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_v1_36_control_plane_with_users_tokens_and_garbage_collection() {
    let env = Testenv::start(&[("alice", &["squad-a"]), ("dave", &[])]).await.unwrap();
    let kc = env.kubeconfig_path();

    let (ok, out) = kubectl(kc, &["version", "-o", "json"]);
    assert!(ok, "{out}");
    let version: serde_json::Value = serde_json::from_str(&out[..out.rfind('}').map_or(0, |i| i + 1)]).unwrap();
    assert_eq!(version["serverVersion"]["gitVersion"], testenv::KUBERNETES_VERSION, "{out}");

    for (user, groups) in [("admin", "system:masters"), ("alice", "squad-a"), ("dave", "system:authenticated")] {
        let (ok, out) = kubectl(
            kc,
            &[
                "--context",
                user,
                "auth",
                "whoami",
                "-o",
                "jsonpath={.status.userInfo.username}/{.status.userInfo.groups}",
            ],
        );
        assert!(ok && out.starts_with(&format!("{user}/")) && out.contains(groups), "{user}: {out}");
        // No empty group from an empty groups column.
        assert!(!out.contains(r#""""#), "{user}: {out}");
    }

    // A TokenRequest token authenticates as its ServiceAccount.
    env.add_service_account("system:serviceaccount:default:robot").await.unwrap();
    let (ok, out) = kubectl(
        kc,
        &[
            "--context",
            "system:serviceaccount:default:robot",
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ],
    );
    assert!(ok && out == "system:serviceaccount:default:robot", "{out}");
    let (ok, token) = kubectl(kc, &["create", "token", "robot", "-n", "default"]);
    assert!(ok, "{token}");
    let (ok, out) =
        kubectl(kc, &["--token", token.trim(), "auth", "whoami", "-o", "jsonpath={.status.userInfo.groups}"]);
    assert!(ok && out.contains("system:serviceaccounts:default"), "{out}");

    // Deleting an owner garbage-collects what it owns.
    let cms: Api<ConfigMap> = Api::namespaced(env.client("admin").await.unwrap(), "default");
    let owner = cms
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "owner"}})).unwrap())
        .await
        .unwrap();
    let owned = json!({"metadata": {"name": "owned", "ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid.unwrap(),
    }]}});
    cms.create(&PostParams::default(), &serde_json::from_value(owned).unwrap()).await.unwrap();
    cms.delete("owner", &DeleteParams::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while cms.get_opt("owned").await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the garbage collector did not delete the owned ConfigMap");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // kubectl validates a List on the client, against /openapi/v2: a
    // malformed document fails it with "failed to download openapi".
    let list = env.dir().join("list.yaml");
    std::fs::write(
        &list,
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: l1}}\n",
    )
    .unwrap();
    let (ok, out) = kubectl(kc, &["create", "--dry-run=server", "-f", list.to_str().unwrap()]);
    assert!(ok && out.contains("namespace/l1 created (server dry run)"), "{out}");
    let (ok, out) = kubectl(kc, &["explain", "rolebinding.roleRef"]);
    assert!(ok && out.contains("RoleRef contains information"), "{out}");
}

/// Whatever way it stops, it leaves neither its state directory nor its port.
#[tokio::test(flavor = "multi_thread")]
async fn stops_cleanly_on_sigterm_and_when_its_parent_dies() {
    let state_dirs = |pid: u32| {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("kudo-testenv-"))
            .filter(|e| std::fs::read_to_string(e.path().join("pid")).is_ok_and(|p| p.trim() == pid.to_string()))
            .count()
    };
    let port_open = |url: &str| {
        let addr = url.trim_start_matches("https://");
        std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(200)).is_ok()
    };

    // SIGTERM (what Drop sends).
    let env = Testenv::start(&[]).await.unwrap();
    let (pid, url) = (env.pid(), env.url().unwrap());
    assert_eq!(state_dirs(pid), 1);
    assert!(port_open(&url));
    drop(env);
    assert_eq!(state_dirs(pid), 0, "state directory left behind");
    assert!(!port_open(&url), "port still open");

    // The parent is SIGKILLed: the child notices and stops on its own.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let script = format!(
        "{} --kubeconfig {} > {}/out 2>&1 & echo $! > {}/pid; wait",
        Testenv::binary().unwrap().display(),
        kubeconfig.display(),
        dir.path().display(),
        dir.path().display()
    );
    let mut parent = Command::new("sh").arg("-c").arg(&script).spawn().unwrap();
    wait_until("READY", || std::fs::read_to_string(dir.path().join("out")).is_ok_and(|o| o.contains("READY")));
    let child: u32 = std::fs::read_to_string(dir.path().join("pid")).unwrap().trim().parse().unwrap();
    assert_eq!(state_dirs(child), 1);
    parent.kill().unwrap();
    parent.wait().unwrap();
    wait_until("the orphaned control plane to stop", || {
        !Path::new(&format!("/proc/{child}")).exists()
            || std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|s| s.contains(") Z "))
    });
    assert_eq!(state_dirs(child), 0, "state directory left behind by an orphan");
    assert!(!kubeconfig.exists(), "a kubeconfig pointing at a dead server left behind");
}
