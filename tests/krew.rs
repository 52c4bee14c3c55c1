//! The krew manifests follow krew's rules (name = file name, semver
//! version, one bin per platform, os/arch selectors, LICENSE shipped) and
//! claim no checksum for an archive not built; the release (`cargo xtask
//! release`'s packaging, on the debug binary) gives an archive, SHA256SUMS
//! and a krew manifest with which krew (tests/tools/bin/krew, or $KUDO_KREW)
//! installs kudo into a fresh KREW_ROOT, and `kubectl kudo version` then
//! runs from there.

mod support;

use std::{
    path::Path,
    process::{Command, Output},
};

use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &str) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(root().join(path)).unwrap()).unwrap()
}

#[test]
fn plugin_manifest_is_valid_for_krew_and_claims_no_checksum() {
    let p = load("plugin.yaml");
    assert_eq!(p["apiVersion"], "krew.googlecontainertools.github.com/v1alpha2");
    assert_eq!(p["kind"], "Plugin");
    assert_eq!(p["metadata"]["name"], "kudo");
    let version = p["spec"]["version"].as_str().unwrap();
    assert_eq!(version, format!("v{VERSION}"), "plugin.yaml version follows Cargo.toml");
    assert!(p["spec"]["shortDescription"].as_str().unwrap().len() <= 50);

    let mut seen = Vec::new();
    for platform in p["spec"]["platforms"].as_array().unwrap() {
        let labels = &platform["selector"]["matchLabels"];
        let (os, arch) = (labels["os"].as_str().unwrap(), labels["arch"].as_str().unwrap());
        let bin = platform["bin"].as_str().unwrap();
        assert_eq!(bin, if os == "windows" { "kubectl-kudo.exe" } else { "kubectl-kudo" });
        let uri = platform["uri"].as_str().unwrap();
        let archive = format!("kubectl-kudo_{version}_{os}_{arch}.tar.gz");
        assert!(uri.starts_with("https://") && uri.ends_with(&format!("/{version}/{archive}")), "{uri}");
        assert!(platform.get("sha256").is_none(), "{os}/{arch}: a checksum for an archive nobody built");
        let files: Vec<&str> =
            platform["files"].as_array().unwrap().iter().map(|f| f["from"].as_str().unwrap()).collect();
        assert!(files.contains(&bin) && files.contains(&"LICENSE"), "{files:?}");
        seen.push(format!("{os}/{arch}"));
    }
    seen.sort();
    assert_eq!(seen, ["darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"]);
}

#[test]
fn release_template_matches_the_manifest() {
    let text = std::fs::read_to_string(root().join("krew-manifest/kudo.yaml")).unwrap();
    assert!(text.contains("name: kudo"), "krew plugin name = file name");
    assert!(text.contains("version: {{ .TagName }}"));
    assert_eq!(text.matches("addURIAndSha").count(), 6, "one templated uri+sha256 per platform");
    assert_eq!(text.matches("bin: kubectl-kudo").count(), 6);
    assert_eq!(text.matches(".tar.gz\" .TagName").count(), 6, "the archives cargo xtask release names");
}

fn run(command: &mut Command) -> String {
    let out: Output = command.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{command:?} failed: {stdout}\n{stderr}");
    format!("{stdout}{stderr}")
}

#[test]
fn the_release_installs_with_krew_and_runs_from_krew_root() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let platform = xtask::Platform::host().unwrap();
    // The debug binary without its debug info (a sixth of its size), as a
    // release build is: packing and unpacking 380 MB is most of this test.
    let binary = dir.path().join("kubectl-kudo");
    run(Command::new("strip").arg("-o").arg(&binary).arg(env!("CARGO_BIN_EXE_kubectl-kudo")));
    let release = xtask::release(&xtask::Inputs {
        root: root(),
        binary: &binary,
        version: VERSION,
        platform: platform.clone(),
        out: &out,
        uri_base: None,
    })
    .unwrap();
    let name = format!("kubectl-kudo_v{VERSION}_{}_{}.tar.gz", platform.os, platform.arch);
    assert_eq!(release.archive, out.join(&name));

    // The archive holds exactly the four files, executables executable.
    let listing = run(Command::new("tar").arg("-tvzf").arg(&release.archive));
    let entries: Vec<(&str, &str)> =
        listing.lines().map(|l| (l.split_whitespace().next().unwrap(), l.split_whitespace().last().unwrap())).collect();
    assert_eq!(
        entries,
        [
            ("-rwxr-xr-x", "kubectl-kudo"),
            ("-rwxr-xr-x", "kubectl_complete-kudo"),
            ("-rw-r--r--", "LICENSE"),
            ("-rw-r--r--", "README.md")
        ]
    );
    // SHA256SUMS checks out with coreutils, and the manifest carries that sum.
    let sums = std::fs::read_to_string(&release.sums).unwrap();
    assert_eq!(sums, format!("{}  {name}\n", release.sha256));
    assert!(
        run(Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&out)).contains(&format!("{name}: OK"))
    );
    let text = std::fs::read_to_string(&release.krew_manifest).unwrap();
    assert!(text.contains("Not built here, so not listed: "), "{text}");
    let manifest: Value = serde_saphyr::from_str(&text).unwrap();
    let platforms = manifest["spec"]["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 1, "only what was built: {text}");
    assert_eq!(platforms[0]["sha256"], release.sha256.as_str());
    assert_eq!(platforms[0]["selector"]["matchLabels"]["os"], platform.os);
    assert_eq!(manifest["spec"]["version"], format!("v{VERSION}"));

    // krew installs it into a fresh KREW_ROOT, from the archive, offline.
    let krew_root = dir.path().join("krew");
    let installed = run(Command::new(support::tool("krew"))
        .arg("install")
        .arg(format!("--manifest={}", release.krew_manifest.display()))
        .arg(format!("--archive={}", release.archive.display()))
        .env("KREW_ROOT", &krew_root)
        .env("KREW_NO_UPGRADE_CHECK", "1"));
    assert!(installed.contains("Installed plugin: kudo"), "{installed}");
    let link = krew_root.join("bin/kubectl-kudo");
    let target = std::fs::canonicalize(&link).unwrap();
    assert!(target.starts_with(std::fs::canonicalize(krew_root.join("store/kudo")).unwrap()), "{}", target.display());

    // kubectl finds the plugin in KREW_ROOT/bin (first on PATH) and runs it.
    let path = std::env::join_paths(
        std::iter::once(krew_root.join("bin")).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let version = run(Command::new("kubectl")
        .args(["kudo", "version", "--client"])
        .env("PATH", &path)
        .env("KUBECONFIG", dir.path().join("none")));
    assert_eq!(version, format!("kudo plugin: v{VERSION}\n"));
    let plugins = run(Command::new("kubectl").args(["plugin", "list"]).env("PATH", &path));
    assert!(plugins.contains(&link.display().to_string()), "kubectl runs KREW_ROOT's kudo: {plugins}");
}
