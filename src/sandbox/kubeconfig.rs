//! The kubeconfig the sandbox hands its users: one context per user, on a
//! server at 127.0.0.1, written where they asked (mode 0600), and removed
//! on exit.

use std::{
    io::Write,
    net::{SocketAddr, TcpStream},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    time::Duration,
};

use serde_json::{Value, json};

use super::SandboxError;

/// The cluster's name in the kubeconfig; also how a sandbox's file is told
/// from anyone else's.
pub const CLUSTER: &str = "kudo-sandbox";

/// A kubeconfig for `users`, taken from the API server's own (`source`):
/// its server and CA, and each user's token. The server must be on
/// 127.0.0.1: the tokens are valid for anyone who reaches it.
pub fn derive(source: &str, users: &[&str]) -> Result<String, SandboxError> {
    let bad = |why: &str| SandboxError::Kubeconfig(why.into());
    let config: Value =
        serde_saphyr::from_str(source).map_err(|e| bad(&format!("the API server's kubeconfig: {e}")))?;
    let cluster = config["clusters"][0]["cluster"].clone();
    let server = cluster["server"].as_str().ok_or_else(|| bad("the API server's kubeconfig names no server"))?;
    if !(server.starts_with("https://127.0.0.1:")) {
        return Err(bad(&format!("the API server listens at {server}, not on 127.0.0.1")));
    }
    let mut out_users = Vec::new();
    let mut contexts = Vec::new();
    for user in users {
        let entry = config["users"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| u["name"] == *user)
            .ok_or_else(|| bad(&format!("the API server's kubeconfig has no user {user}")))?;
        out_users.push(json!({"name": user, "user": {"token": entry["user"]["token"]}}));
        contexts.push(json!({"name": user, "context": {"cluster": CLUSTER, "user": user, "namespace": "default"}}));
    }
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": CLUSTER, "cluster": {
            "server": server,
            "certificate-authority-data": cluster["certificate-authority-data"],
        }}],
        "users": out_users, "contexts": contexts, "current-context": users.first().copied().unwrap_or_default(),
    });
    serde_saphyr::to_string(&config).map_err(|e| bad(&e.to_string()))
}

/// Makes `path` free for this sandbox: absent, or left by a sandbox that no
/// longer runs. Refuses anyone else's file, and a running sandbox's.
pub fn claim(path: &Path) -> Result<(), SandboxError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(SandboxError::Io { path: path.into(), source }),
    };
    let config: Value = serde_saphyr::from_str(&text).unwrap_or_default();
    let ours = config["clusters"].as_array().into_iter().flatten().any(|c| c["name"] == CLUSTER);
    if !ours {
        return Err(SandboxError::NotOurs(path.into()));
    }
    let server = config["clusters"][0]["cluster"]["server"].as_str().unwrap_or_default();
    let address = server.strip_prefix("https://").and_then(|a| a.parse::<SocketAddr>().ok());
    if address.is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok()) {
        return Err(SandboxError::Running(path.into()));
    }
    std::fs::remove_file(path).map_err(|source| SandboxError::Io { path: path.into(), source })
}

/// What [`write`] created, for [`remove`] to take away again.
#[derive(Debug, Default)]
pub struct Written {
    file: PathBuf,
    /// Directories that did not exist before, outermost first.
    dirs: Vec<PathBuf>,
}

/// Writes `text` to a new file at `path`, readable by this user only (it
/// holds tokens), creating its missing directories (0700).
pub fn write(path: &Path, text: &str) -> Result<Written, SandboxError> {
    let io = |source| SandboxError::Io { path: path.into(), source };
    let missing: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_path_buf)
        .collect();
    let mut written = Written { file: path.into(), dirs: Vec::new() };
    for dir in missing.into_iter().rev() {
        std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(io)?;
        written.dirs.push(dir);
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    Ok(written)
}

/// Removes the file, then each directory created for it that is empty.
pub fn remove(written: &Written) -> Result<(), SandboxError> {
    match std::fs::remove_file(&written.file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(SandboxError::Io { path: written.file.clone(), source: e });
        }
        _ => {}
    }
    for dir in written.dirs.iter().rev() {
        // Not empty: someone put something there since; it stays.
        let _ = std::fs::remove_dir(dir);
    }
    Ok(())
}

/// `~/.kube/kudo-sandbox.yaml`.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|home| PathBuf::from(home).join(".kube/kudo-sandbox.yaml"))
}

/// A client for `context` of the kubeconfig at `path`.
pub async fn client(path: &Path, context: &str) -> Result<kube::Client, SandboxError> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| SandboxError::Kubeconfig(e.to_string()))?;
    from_kubeconfig(kubeconfig, context).await
}

/// A client for the same cluster as `path`'s, authenticated by `token`
/// (a ServiceAccount's): kept in memory, never written.
pub async fn client_with_token(path: &Path, token: &str) -> Result<kube::Client, SandboxError> {
    let text = std::fs::read_to_string(path).map_err(|source| SandboxError::Io { path: path.into(), source })?;
    let mut config: Value = serde_saphyr::from_str(&text).map_err(|e| SandboxError::Kubeconfig(e.to_string()))?;
    config["users"] = json!([{"name": "sa", "user": {"token": token}}]);
    config["contexts"] = json!([{"name": "sa", "context": {"cluster": CLUSTER, "user": "sa"}}]);
    config["current-context"] = json!("sa");
    let kubeconfig: kube::config::Kubeconfig =
        serde_json::from_value(config).map_err(|e| SandboxError::Kubeconfig(e.to_string()))?;
    from_kubeconfig(kubeconfig, "sa").await
}

async fn from_kubeconfig(kubeconfig: kube::config::Kubeconfig, context: &str) -> Result<kube::Client, SandboxError> {
    let options = kube::config::KubeConfigOptions { context: Some(context.into()), ..Default::default() };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| SandboxError::Kubeconfig(e.to_string()))?;
    crate::client::client(config).map_err(|source| SandboxError::Kube { doing: "building a client".into(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: Q0E=\nusers:\n- name: admin\n  user:\n    token: t-admin\n- name: alice\n  user:\n    token: t-alice\n- name: system:serviceaccount:x:y\n  user:\n    token: t-sa\ncontexts: []\ncurrent-context: admin\n";

    #[test]
    fn derives_one_context_per_user_on_loopback_only() {
        let text = derive(SOURCE, &["admin", "alice"]).unwrap();
        let config: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(config["clusters"][0]["name"], CLUSTER);
        assert_eq!(config["clusters"][0]["cluster"]["certificate-authority-data"], "Q0E=");
        let contexts: Vec<&str> =
            config["contexts"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(contexts, ["admin", "alice"]);
        assert_eq!(config["users"][1]["user"]["token"], "t-alice");
        assert!(!text.contains("t-sa"), "only the users asked for");
        assert!(derive(&SOURCE.replace("127.0.0.1", "10.0.0.1"), &["admin"]).is_err());
        assert!(derive(SOURCE, &["bob"]).is_err());
    }

    #[test]
    fn claims_only_a_free_path_or_a_dead_sandboxs_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.yaml");
        claim(&path).unwrap();
        std::fs::write(&path, "apiVersion: v1\nclusters:\n- name: work\n").unwrap();
        assert!(matches!(claim(&path), Err(SandboxError::NotOurs(_))));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let live =
            derive(&SOURCE.replace("6443", &listener.local_addr().unwrap().port().to_string()), &["admin"]).unwrap();
        std::fs::write(&path, &live).unwrap();
        assert!(matches!(claim(&path), Err(SandboxError::Running(_))));
        drop(listener);
        claim(&path).unwrap();
        assert!(!path.exists(), "a dead sandbox's file is removed");
        let nested = dir.path().join("a/b/k.yaml");
        let written = write(&nested, "x").unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&nested).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(dir.path().join("a")).unwrap().permissions().mode() & 0o777, 0o700);
        remove(&written).unwrap();
        assert!(!dir.path().join("a").exists(), "the directories it made go too");
        assert!(dir.path().exists(), "but not those it found");
    }
}
