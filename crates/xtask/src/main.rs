//! `cargo xtask release [--out DIR] [--uri-base URL]`: builds kubectl-kudo
//! with `--release --locked` for the host, then writes into DIR (default
//! target/release-dist) the archive, SHA256SUMS and the krew manifest
//! `kudo.yaml` (see the library for what each holds).

use std::{path::PathBuf, process::Command};

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(task) = args.next() else { bail!("usage: cargo xtask release [--out DIR] [--uri-base URL]") };
    if task != "release" {
        bail!("unknown task {task:?}: the one task is `release` (cargo xtask release [--out DIR] [--uri-base URL])");
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().with_context(|| format!("finding the repository at {}", root.display()))?;
    let mut out = root.join("target/release-dist");
    let mut uri_base = None;
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => out = PathBuf::from(value()?),
            "--uri-base" => uri_base = Some(value()?),
            other => bail!("unknown flag {other:?}: release takes --out DIR and --uri-base URL"),
        }
    }
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(["build", "--release", "--locked", "--package", "kudo", "--bin", "kubectl-kudo"])
        .status()
        .context("running cargo build --release")?;
    if !status.success() {
        bail!("cargo build --release failed ({status})");
    }
    let platform = xtask::Platform::host()?;
    let binary = root.join("target/release").join(platform.binary());
    let outputs = xtask::release(&xtask::Inputs {
        root: &root,
        binary: &binary,
        version: &version(&root)?,
        platform,
        out: &out,
        uri_base: uri_base.as_deref(),
    })?;
    println!("{}", outputs.archive.display());
    println!("{}", outputs.sums.display());
    println!("{}", outputs.krew_manifest.display());
    Ok(())
}

/// The kudo crate's version, as cargo reads it.
fn version(root: &std::path::Path) -> anyhow::Result<String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    metadata["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "kudo"))
        .and_then(|p| p["version"].as_str())
        .map(String::from)
        .context("cargo metadata names no kudo package")
}
