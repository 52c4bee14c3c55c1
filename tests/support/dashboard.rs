//! `kubectl kudo dashboard` as tests drive it: the built binary run as one
//! of the cluster's users, plain HTTP/1.1 requests written out byte for
//! byte (a hostile `Host` header is the point, which HTTP clients set for
//! themselves), and a real browser: Debian's chromium through chromedriver.

use std::{path::PathBuf, process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder, Locator};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    process::{Child, Command},
};

use super::Cluster;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const INSTALL: &str = "apt-get install -y chromium chromium-driver";

/// A running dashboard: its port and the token its URL carries.
pub struct Dashboard {
    pub user: String,
    pub port: u16,
    pub token: String,
    _child: Child,
}

impl Dashboard {
    /// `kubectl-kudo --context USER dashboard --no-open`, until dropped.
    pub async fn start(cluster: &Cluster, user: &str) -> Self {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("kubectl-kudo"))
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig_path())
            .args(["--context", user, "dashboard", "--no-open"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the built kubectl-kudo runs");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the dashboard prints its URL")
            .expect("stdout readable")
            .expect("a first line");
        // Keep reading, so that nothing it prints later meets a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{first}"));
        let rest = url.strip_prefix("http://127.0.0.1:").unwrap_or_else(|| panic!("listens on 127.0.0.1: {url}"));
        let (port, token) = rest.split_once("/login?token=").unwrap_or_else(|| panic!("{url}"));
        assert_eq!(token.len(), 64, "32 random bytes, hex: {url}");
        Self { user: user.into(), port: port.parse().unwrap(), token: token.into(), _child: child }
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn login_url(&self) -> String {
        format!("{}/login?token={}", self.origin(), self.token)
    }

    /// Logs in as a browser would and returns the cookie (`name=value`).
    pub async fn cookie(&self) -> String {
        let r = self.get(&format!("/login?token={}", self.token), &[]).await;
        assert_eq!(r.status, 303, "{r:?}");
        let set = r.header("set-cookie").unwrap_or_else(|| panic!("{r:?}"));
        set.split(';').next().unwrap().to_string()
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers, "").await
    }

    /// A request with this dashboard's Host unless `headers` name one.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        let host = self.host();
        let mut all: Vec<(&str, &str)> = Vec::new();
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            all.push(("Host", &host));
        }
        all.extend_from_slice(headers);
        http(self.port, method, path, &all, body).await
    }

    /// A form POST from the dashboard's own origin, with its cookie.
    pub async fn post_form(&self, cookie: &str, path: &str, form: &[(&str, &str)]) -> Response {
        let origin = self.origin();
        let body = form_body(form);
        self.request(
            "POST",
            path,
            &[("Cookie", cookie), ("Origin", &origin), ("Content-Type", "application/x-www-form-urlencoded")],
            &body,
        )
        .await
    }
}

pub fn form_body(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection, exactly these headers.
pub async fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("the dashboard listens");
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        request += &format!("{k}: {v}\r\n");
    }
    request += &format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw)).await.expect("an answer").unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Response { status, headers, body: body.to_string() }
}

/// A headless chromium with a fresh profile, driven over WebDriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// chromedriver and the chromium it starts share a process group: a test
/// that fails midway leaves no browser behind.
impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::SIGKILL);
        }
    }
}

impl Browser {
    /// Fails (never skips) when chromium or chromedriver is missing.
    pub async fn start() -> Self {
        for (what, path) in [("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)] {
            assert!(
                std::path::Path::new(path).exists(),
                "{what} is missing at {path}: the dashboard's browser tests need it; install it with: {INSTALL}"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start ({e}); install it with: {INSTALL}"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "chromedriver did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            "--hide-scrollbars",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert("goog:chromeOptions".into(), serde_json::json!({"binary": CHROMIUM, "args": args}));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("chromium does not start under chromedriver: {e}"));
        Self { client, driver, _profile: profile }
    }

    /// Ends the session, which quits chromium (dropping only kills chromedriver).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Runs `script` (a function body returning a value) in the page.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Polls until `script` returns true (30 s at most).
    pub async fn until(&self, what: &str, script: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if self.eval(script).await == serde_json::Value::Bool(true) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; the page: {}",
                self.client.source().await.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text an element shows, read in one step: a live page may
    /// replace its elements between two WebDriver calls.
    pub async fn text(&self, css: &str) -> String {
        let script = format!("const e = document.querySelector({css:?}); return e ? e.innerText : null");
        match self.eval(&script).await {
            serde_json::Value::String(text) => text,
            other => panic!("no {css} on the page ({other}): {}", self.client.source().await.unwrap_or_default()),
        }
    }

    /// The texts of every element matching `css`, in one step.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let script = format!("return Array.from(document.querySelectorAll({css:?})).map(e => e.innerText)");
        serde_json::from_value(self.eval(&script).await).unwrap()
    }

    /// Types into an input as a user does, again if the live page replaced it meanwhile.
    pub async fn type_into(&self, css: &str, text: &str) {
        for _ in 0..10 {
            let Ok(el) = self.client.find(Locator::Css(css)).await else { continue };
            if el.send_keys(text).await.is_ok() {
                return;
            }
        }
        panic!("could not type into {css}");
    }

    /// Clicks as a user does, again if the live page replaced the element meanwhile.
    pub async fn click(&self, css: &str) {
        for _ in 0..10 {
            let Ok(el) = self.client.find(Locator::Css(css)).await else { continue };
            if el.click().await.is_ok() {
                return;
            }
        }
        panic!("could not click {css}");
    }

    /// Saves what the browser shows as `NAME.png` under the test's target
    /// directory; with KUDO_UPDATE_SCREENSHOTS=1 also into docs/screenshots.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        if std::env::var("KUDO_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
        }
        path
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
