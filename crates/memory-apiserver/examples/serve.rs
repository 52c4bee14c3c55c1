//! Runs a bare in-memory API server (no kudo in it: `kubectl kudo sandbox` is
//! the one with kudo installed) until Ctrl-C, for poking at it with kubectl:
//! `cargo run -p memory-apiserver --example serve` then
//! `kubectl --kubeconfig <printed path> get namespaces`.

use memory_apiserver::{Account, MemoryApiServer};

#[tokio::main]
async fn main() {
    let fake = MemoryApiServer::start(vec![Account::new("alice", &["squad-a"]), Account::new("bob", &["admins"])])
        .await
        .expect("the fake starts");
    println!("{}", fake.kubeconfig_path().display());
    let _ = tokio::signal::ctrl_c().await;
}
