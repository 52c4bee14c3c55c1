//! The krew manifests follow krew's rules: name = file name, semver
//! version, one bin per platform, os/arch selectors, LICENSE shipped.

use std::path::Path;

use serde_json::Value;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

#[test]
fn plugin_manifest_is_valid_for_krew() {
    let p = load("plugin.yaml");
    assert_eq!(p["apiVersion"], "krew.googlecontainertools.github.com/v1alpha2");
    assert_eq!(p["kind"], "Plugin");
    assert_eq!(p["metadata"]["name"], "kudo");
    let version = p["spec"]["version"].as_str().unwrap();
    assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")), "plugin.yaml version follows Cargo.toml");
    assert!(p["spec"]["shortDescription"].as_str().unwrap().len() <= 50);

    let mut seen = Vec::new();
    for platform in p["spec"]["platforms"].as_array().unwrap() {
        let labels = &platform["selector"]["matchLabels"];
        let (os, arch) = (labels["os"].as_str().unwrap(), labels["arch"].as_str().unwrap());
        let bin = platform["bin"].as_str().unwrap();
        assert_eq!(bin, if os == "windows" { "kubectl-kudo.exe" } else { "kubectl-kudo" });
        let uri = platform["uri"].as_str().unwrap();
        assert!(uri.starts_with("https://") && uri.contains(version) && uri.contains(&format!("{os}_{arch}")), "{uri}");
        let sha = platform["sha256"].as_str().unwrap();
        assert!(sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()), "{sha}");
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
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("krew-manifest/kudo.yaml")).unwrap();
    assert!(text.contains("name: kudo"), "krew plugin name = file name");
    assert!(text.contains("version: {{ .TagName }}"));
    assert_eq!(text.matches("addURIAndSha").count(), 6, "one templated uri+sha256 per platform");
    assert_eq!(text.matches("bin: kubectl-kudo").count(), 6);
}
