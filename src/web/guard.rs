//! Who may talk to the dashboard: the browser that opened the URL this run
//! printed, on this machine, and no web page it visits.
//!
//! - **Token**: 32 bytes from the OS's RNG per run. The printed URL carries
//!   it once (`/login?token=…`); `/login` trades it for a session cookie
//!   (another 32 random bytes: the token itself never becomes a cookie)
//!   and redirects to a URL without it. Both are compared in constant time.
//! - **Cookie**: HttpOnly (no script reads it), SameSite=Strict (no other
//!   site's page sends it), named for the port: browsers share cookies
//!   across the ports of one host, so two dashboards (alice's and bob's)
//!   must not overwrite each other's.
//! - **Host**: only `127.0.0.1:PORT` and `localhost:PORT`: a DNS name that
//!   an attacker rebinds to 127.0.0.1 arrives with its own name (421).
//! - **Origin**: a POST must come from the dashboard's own origin (the
//!   `Origin` header, or `Referer` where a browser sends no Origin): no
//!   other page can make the browser approve or escalate (CSRF, 403).
//! - No CORS headers, ever: other origins cannot read any answer.
//!
//! Every answer, refusals included, carries headers that keep it out of
//! frames, caches and other origins' referrers, and a CSP that runs only
//! the dashboard's own script.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use subtle::ConstantTimeEq;

/// A secret of 32 random bytes, written as 64 hex digits.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant time in the compared bytes: a guess learns nothing from timing.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

// Never printed by accident (logs, panics): the value is the credential.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// What the guard knows of this run.
#[derive(Clone, Debug)]
pub struct Guard {
    pub port: u16,
    /// In the printed URL, traded at `/login`.
    pub token: Secret,
    /// The cookie's value.
    pub session: Secret,
}

impl Guard {
    pub fn new(port: u16) -> Result<Self, getrandom::Error> {
        Ok(Self { port, token: Secret::random()?, session: Secret::random()? })
    }

    pub fn cookie_name(&self) -> String {
        format!("kudo-dashboard-{}", self.port)
    }

    /// The URL to print and open: the only place the token appears.
    pub fn login_url(&self) -> String {
        format!("http://127.0.0.1:{}/login?token={}", self.port, self.token.expose())
    }

    /// `Host` names this server: 127.0.0.1 or localhost, on this port.
    pub fn host_allowed(&self, host: &str) -> bool {
        self.own_hosts().iter().any(|h| h == host)
    }

    /// An `Origin` (or the origin of a `Referer`) is this server's.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.own_hosts().iter().any(|h| origin == format!("http://{h}"))
    }

    fn referer_allowed(&self, referer: &str) -> bool {
        self.own_hosts()
            .iter()
            .any(|h| referer.strip_prefix(&format!("http://{h}")).is_some_and(|rest| rest.starts_with('/')))
    }

    fn own_hosts(&self) -> [String; 2] {
        [format!("127.0.0.1:{}", self.port), format!("localhost:{}", self.port)]
    }

    /// The session cookie among the request's cookies, if it is this run's.
    fn cookie_state(&self, headers: &HeaderMap) -> CookieState {
        let name = self.cookie_name();
        let mut seen = false;
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for cookie in cookie::Cookie::split_parse(text).flatten() {
                if cookie.name() == name {
                    if self.session.matches(cookie.value()) {
                        return CookieState::Valid;
                    }
                    seen = true;
                }
            }
        }
        if seen { CookieState::Wrong } else { CookieState::Missing }
    }

    /// The Set-Cookie header for a session.
    pub fn set_cookie(&self) -> String {
        cookie::Cookie::build((self.cookie_name(), self.session.expose().to_string()))
            .http_only(true)
            .same_site(cookie::SameSite::Strict)
            .path("/")
            .build()
            .to_string()
    }
}

enum CookieState {
    Missing,
    Wrong,
    Valid,
}

/// A refusal: a status and one line saying what to do, nothing else.
fn refuse(status: StatusCode, why: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], why).into_response()
}

/// Host first (for every path, `/login` included), then for POST the
/// origin, then the cookie (every path but `/login`).
pub async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    if !guard.host_allowed(host) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "this dashboard answers only to http://127.0.0.1:PORT and http://localhost:PORT\n",
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        let referer = headers.get(header::REFERER).and_then(|o| o.to_str().ok());
        let same_origin = match (origin, referer) {
            (Some(origin), _) => guard.origin_allowed(origin),
            (None, Some(referer)) => guard.referer_allowed(referer),
            (None, None) => false,
        };
        if !same_origin {
            return refuse(
                StatusCode::FORBIDDEN,
                "refused: this request did not come from the dashboard's own pages\n",
            );
        }
    }
    if request.uri().path() != "/login" {
        match guard.cookie_state(headers) {
            CookieState::Valid => {}
            CookieState::Missing => {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "not logged in: open the URL that `kubectl kudo dashboard` printed\n",
                );
            }
            CookieState::Wrong => {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "this session is not this dashboard's: open the URL that `kubectl kudo dashboard` printed\n",
                );
            }
        }
    }
    next.run(request).await
}

/// The headers every answer carries. `connect-src 'self'` is in
/// `default-src`: the page's EventSource reaches this server only.
///
/// Referrers: `no-referrer` on `/login`, whose URL holds the token (a
/// redirect's policy applies to where it leads, so the page after it has
/// no referrer either); `same-origin` on the rest, which sends nothing to
/// any other origin. Not `no-referrer` everywhere: with it, browsers send
/// `Origin: null` on the pages' own form posts, which the CSRF check must
/// refuse.
pub async fn headers(request: Request, next: Next) -> Response {
    let login = request.uri().path() == "/login";
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, if login { "no-referrer" } else { "same-origin" }),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard::new(8123).unwrap()
    }

    #[test]
    fn secrets_are_random_long_and_compared_whole() {
        let (a, b) = (Secret::random().unwrap(), Secret::random().unwrap());
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.expose(), b.expose());
        assert!(a.matches(a.expose()));
        assert!(!a.matches(b.expose()));
        assert!(!a.matches(&a.expose()[..63]), "a prefix is not the secret");
        assert!(!a.matches(""));
        assert_eq!(format!("{a:?}"), "Secret(…)");
    }

    #[test]
    fn only_this_machine_on_this_port_is_a_host() {
        let g = guard();
        assert!(g.host_allowed("127.0.0.1:8123") && g.host_allowed("localhost:8123"));
        for bad in
            ["evil.example:8123", "127.0.0.1:8124", "127.0.0.1", "localhost", "", "127.0.0.1:8123.evil", "[::1]:8123"]
        {
            assert!(!g.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn only_the_own_origin_may_post() {
        let g = guard();
        assert!(g.origin_allowed("http://127.0.0.1:8123") && g.origin_allowed("http://localhost:8123"));
        for bad in [
            "null",
            "http://evil.example",
            "https://127.0.0.1:8123",
            "http://127.0.0.1:8123.evil",
            "http://127.0.0.1:812",
        ] {
            assert!(!g.origin_allowed(bad), "{bad}");
        }
        assert!(g.referer_allowed("http://127.0.0.1:8123/reviews"));
        assert!(!g.referer_allowed("http://127.0.0.1:8123.evil.example/"));
        assert!(!g.referer_allowed("http://127.0.0.1:8123"), "a referer is a URL with a path");
    }

    #[test]
    fn the_cookie_is_this_runs_session_under_this_ports_name() {
        let g = guard();
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::COOKIE, HeaderValue::from_str(v).unwrap());
            h
        };
        let good = format!("other=1; kudo-dashboard-8123={}", g.session.expose());
        assert!(matches!(g.cookie_state(&with(&good)), CookieState::Valid));
        assert!(matches!(g.cookie_state(&HeaderMap::new()), CookieState::Missing));
        let token_as_cookie = format!("kudo-dashboard-8123={}", g.token.expose());
        assert!(matches!(g.cookie_state(&with(&token_as_cookie)), CookieState::Wrong), "the token is not the session");
        let other_port = format!("kudo-dashboard-8124={}", g.session.expose());
        assert!(matches!(g.cookie_state(&with(&other_port)), CookieState::Missing));
        let set = g.set_cookie();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "{set}");
    }
}
