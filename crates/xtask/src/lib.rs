//! `cargo xtask release`: the release archive for the host platform, its
//! `SHA256SUMS`, and the krew manifest rendered from `plugin.yaml` with the
//! archive's real checksum. Only the platform built here is listed in that
//! manifest: the others were not built, so nothing is claimed for them (the
//! release job in docs/release.md builds each on its own runner).

use std::{
    fs::File,
    io::{Read, Write},
    path::{Path, PathBuf},
};

use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("plugin.yaml: {0}")]
    Manifest(String),
    #[error("this host ({0}) is not a platform kudo releases for: add it to plugin.yaml first")]
    UnknownPlatform(String),
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ReleaseError {
    let path = path.to_path_buf();
    move |source| ReleaseError::Io { what, path, source }
}

/// A platform as krew names it (`os`, `arch` selector labels).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: &'static str,
    pub arch: &'static str,
}

impl Platform {
    /// The platform this xtask was built for, which is the host's.
    pub fn host() -> Result<Self, ReleaseError> {
        let os = match std::env::consts::OS {
            "linux" => "linux",
            "macos" => "darwin",
            "windows" => "windows",
            other => return Err(ReleaseError::UnknownPlatform(other.into())),
        };
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => return Err(ReleaseError::UnknownPlatform(format!("{os}/{other}"))),
        };
        Ok(Self { os, arch })
    }

    /// The plugin binary's name on this platform.
    pub fn binary(&self) -> &'static str {
        if self.os == "windows" { "kubectl-kudo.exe" } else { "kubectl-kudo" }
    }
}

pub struct Inputs<'a> {
    /// The repository: LICENSE, README.md, plugin.yaml, completions/.
    pub root: &'a Path,
    /// The built plugin (`target/release/kubectl-kudo`).
    pub binary: &'a Path,
    /// The crate version, without `v`.
    pub version: &'a str,
    pub platform: Platform,
    pub out: &'a Path,
    /// Where the archive will be downloaded from, without its file name
    /// (e.g. https://github.com/kudo-dev/kudo/releases/download/v0.1.0);
    /// `None`: a `file://` URI of the archive written.
    pub uri_base: Option<&'a str>,
}

/// What [`release`] wrote.
#[derive(Debug)]
pub struct Outputs {
    pub archive: PathBuf,
    pub sha256: String,
    pub sums: PathBuf,
    pub krew_manifest: PathBuf,
}

/// The archive's name: `kubectl-kudo_vX.Y.Z_<os>_<arch>.tar.gz`, as plugin.yaml's URIs say.
pub fn archive_name(version: &str, platform: &Platform) -> String {
    format!("kubectl-kudo_v{version}_{}_{}.tar.gz", platform.os, platform.arch)
}

pub fn release(inputs: &Inputs) -> Result<Outputs, ReleaseError> {
    std::fs::create_dir_all(inputs.out).map_err(io("creating", inputs.out))?;
    let name = archive_name(inputs.version, &inputs.platform);
    let archive = inputs.out.join(&name);
    let completion = inputs.root.join("completions/kubectl_complete-kudo");
    let entries: [(&str, &Path, u32); 4] = [
        (inputs.platform.binary(), inputs.binary, 0o755),
        // kubectl's completion hook for plugins (kubectl >= 1.26), a shell
        // script that runs `kubectl-kudo __complete`: put it on PATH beside the binary.
        ("kubectl_complete-kudo", &completion, 0o755),
        ("LICENSE", &inputs.root.join("LICENSE"), 0o644),
        ("README.md", &inputs.root.join("README.md"), 0o644),
    ];
    write_archive(&archive, &entries)?;
    let sha256 = sha256_of(&archive)?;
    let sums = inputs.out.join("SHA256SUMS");
    std::fs::write(&sums, format!("{sha256}  {name}\n")).map_err(io("writing", &sums))?;
    let uri = match inputs.uri_base {
        Some(base) => format!("{}/{name}", base.trim_end_matches('/')),
        None => {
            let absolute = std::path::absolute(&archive).map_err(io("resolving", &archive))?;
            format!("file://{}", absolute.display())
        }
    };
    let plugin = inputs.root.join("plugin.yaml");
    let template = std::fs::read_to_string(&plugin).map_err(io("reading", &plugin))?;
    let manifest = krew_manifest(&template, inputs.version, &inputs.platform, &uri, &sha256)?;
    let krew_manifest = inputs.out.join("kudo.yaml");
    std::fs::write(&krew_manifest, manifest).map_err(io("writing", &krew_manifest))?;
    Ok(Outputs { archive, sha256, sums, krew_manifest })
}

/// A reproducible tar.gz: fixed order, owner, and modification time.
fn write_archive(path: &Path, entries: &[(&str, &Path, u32)]) -> Result<(), ReleaseError> {
    let file = File::create(path).map_err(io("creating", path))?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::default()));
    for (name, source, mode) in entries {
        let mut data = Vec::new();
        File::open(source).and_then(|mut f| f.read_to_end(&mut data)).map_err(io("reading", source))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, data.as_slice()).map_err(io("archiving", source))?;
    }
    let gz = tar.into_inner().map_err(io("writing", path))?;
    gz.finish().and_then(|mut f| f.flush()).map_err(io("writing", path))
}

pub fn sha256_of(path: &Path) -> Result<String, ReleaseError> {
    let mut hasher = Sha256::new();
    let mut file = File::open(path).map_err(io("reading", path))?;
    std::io::copy(&mut file, &mut hasher).map_err(io("reading", path))?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// plugin.yaml with this version, and only this platform's entry, with its
/// URI and real checksum; the platforms not built are named in a comment.
pub fn krew_manifest(
    template: &str,
    version: &str,
    platform: &Platform,
    uri: &str,
    sha256: &str,
) -> Result<String, ReleaseError> {
    let bad = |m: &str| ReleaseError::Manifest(m.into());
    let mut plugin: Value = serde_saphyr::from_str(template).map_err(|e| ReleaseError::Manifest(e.to_string()))?;
    let spec = plugin.get_mut("spec").and_then(Value::as_object_mut).ok_or_else(|| bad("no spec"))?;
    spec.insert("version".into(), Value::String(format!("v{version}")));
    let platforms = spec.get_mut("platforms").and_then(Value::as_array_mut).ok_or_else(|| bad("no spec.platforms"))?;
    let label = |p: &Value, key: &str| p["selector"]["matchLabels"][key].as_str().unwrap_or_default().to_string();
    let (mut built, others): (Vec<Value>, Vec<Value>) =
        platforms.drain(..).partition(|p| label(p, "os") == platform.os && label(p, "arch") == platform.arch);
    let mut entry = match (built.pop(), built.is_empty()) {
        (Some(entry), true) => entry,
        (None, _) => return Err(ReleaseError::UnknownPlatform(format!("{}/{}", platform.os, platform.arch))),
        (Some(_), false) => return Err(bad("two entries for the host platform")),
    };
    let fields = entry.as_object_mut().ok_or_else(|| bad("a platform is not a mapping"))?;
    fields.insert("uri".into(), Value::String(uri.into()));
    fields.insert("sha256".into(), Value::String(sha256.into()));
    platforms.push(entry);
    let unbuilt: Vec<String> = others.iter().map(|p| format!("{}/{}", label(p, "os"), label(p, "arch"))).collect();
    let yaml = serde_saphyr::to_string(&plugin).map_err(|e| ReleaseError::Manifest(e.to_string()))?;
    Ok(format!(
        "# krew manifest rendered by `cargo xtask release` for v{version} on {}/{}, with the\n\
         # sha256 of the archive it built. Not built here, so not listed: {}.\n\
         # The release job (docs/release.md) builds each on its own runner.\n{yaml}",
        platform.os,
        platform.arch,
        if unbuilt.is_empty() { "none".into() } else { unbuilt.join(", ") },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata: {name: kudo}
spec:
  version: v0.0.0
  platforms:
    - selector: {matchLabels: {os: linux, arch: amd64}}
      uri: https://example.com/a
      bin: kubectl-kudo
    - selector: {matchLabels: {os: darwin, arch: arm64}}
      uri: https://example.com/b
      bin: kubectl-kudo
"#;

    #[test]
    fn only_the_built_platform_is_listed_with_its_checksum() {
        let linux = Platform { os: "linux", arch: "amd64" };
        let text = krew_manifest(TEMPLATE, "1.2.3", &linux, "file:///x.tar.gz", "ab12").unwrap();
        assert!(text.contains("Not built here, so not listed: darwin/arm64."), "{text}");
        let plugin: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(plugin["spec"]["version"], "v1.2.3");
        let platforms = plugin["spec"]["platforms"].as_array().unwrap();
        assert_eq!(platforms.len(), 1);
        assert_eq!(
            (platforms[0]["uri"].as_str(), platforms[0]["sha256"].as_str()),
            (Some("file:///x.tar.gz"), Some("ab12"))
        );
    }

    #[test]
    fn a_host_plugin_yaml_does_not_know_is_refused() {
        let other = Platform { os: "windows", arch: "arm64" };
        assert!(matches!(krew_manifest(TEMPLATE, "1.2.3", &other, "u", "s"), Err(ReleaseError::UnknownPlatform(_))));
        let twice = TEMPLATE.replace("os: darwin, arch: arm64", "os: linux, arch: amd64");
        let linux = Platform { os: "linux", arch: "amd64" };
        assert!(matches!(krew_manifest(&twice, "1.2.3", &linux, "u", "s"), Err(ReleaseError::Manifest(_))));
    }
}
