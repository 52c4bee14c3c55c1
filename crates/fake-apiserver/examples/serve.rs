//! Runs a fake API server until Ctrl-C, for poking at it with kubectl:
//! `cargo run -p fake-apiserver --example serve` then
//! `kubectl --kubeconfig <printed path> get namespaces`.

use fake_apiserver::{Account, FakeApiServer};

#[tokio::main]
async fn main() {
    let fake = FakeApiServer::start(vec![Account::new("alice", &["squad-a"]), Account::new("bob", &["admins"])])
        .await
        .expect("the fake starts");
    println!("{}", fake.kubeconfig_path().display());
    let _ = tokio::signal::ctrl_c().await;
}
