//! The tracker client: HTTP (BEP 3) here, UDP (BEP 15) in [`super::udp::client`] behind the
//! same calls; BEP 12 tiers of trackers of either kind; and the backoff between failed
//! announces.
//!
//! A tracker is a stranger on the network: every answer is read with a size cap and a deadline,
//! and whatever it claims about intervals is bounded before the session believes it. The
//! announce loop itself (when to announce, `started`/`stopped`) belongs to the session; this
//! module does one announce or scrape at a time, and the fail-over across a torrent's trackers.

use super::udp::client::UdpClient;
use super::wire;
use super::{AnnounceRequest, AnnounceResponse, ScrapeResponse, TrackerError};
use crate::metainfo::{InfoHash, Metainfo};
use reqwest::Url;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How the client talks to trackers. Every default is chosen for a tracker on the open internet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Deadline for a whole request: connecting, redirects and reading the answer.
    /// Default 15 s: long enough for a slow tracker far away, short enough that a stuck one is
    /// soon replaced by the next in its tier.
    pub timeout: Duration,
    /// Deadline for the TCP (and TLS) connection alone. Default 10 s, so a dead host fails as
    /// [`TrackerError::Timeout`] before the whole request's deadline.
    pub connect_timeout: Duration,
    /// The largest answer read, in bytes. Default 1 MiB: a compact answer with thousands of
    /// peers is a few tens of KiB, so anything near this is hostile or broken.
    pub max_response_size: usize,
    /// Redirects followed before giving up. Default 3: enough for `http` to `https` and a moved
    /// tracker, short enough that a loop fails fast.
    pub max_redirects: usize,
    /// The `User-Agent` header. Default `bittern/<crate version>`.
    pub user_agent: String,
    /// The shortest re-announce interval believed. Default 60 s: a tracker asking for less
    /// (or for 0) would have us hammer it.
    pub min_interval: Duration,
    /// The longest re-announce interval believed. Default 2 h: past that, peers would expire
    /// from the tracker's list and we would learn no new ones.
    pub max_interval: Duration,
    /// A UDP request unanswered is sent again after this, then after twice as long each time
    /// (BEP 15: 15 s, the default).
    pub udp_retransmit_after: Duration,
    /// The longest a UDP announce or scrape may take, connect exchange included. Default 60 s
    /// (the sends at 0, 15 and 45 s): BEP 15's own schedule goes on for an hour, which would
    /// hold a torrent on a dead tracker instead of trying the next.
    pub udp_max_wait: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            max_response_size: 1 << 20,
            max_redirects: 3,
            user_agent: format!("bittern/{}", crate::VERSION),
            min_interval: Duration::from_secs(60),
            max_interval: Duration::from_secs(2 * 60 * 60),
            udp_retransmit_after: Duration::from_secs(15),
            udp_max_wait: Duration::from_secs(60),
        }
    }
}

impl ClientConfig {
    /// The defaults with a whole-request deadline of `timeout`; the connect deadline is
    /// shortened to it when it is shorter, and so is a UDP request's, whose first resend then
    /// comes after a quarter of it at most (so a lost packet is sent again in time).
    pub fn with_timeout(timeout: Duration) -> Self {
        let mut config = ClientConfig::default();
        config.timeout = timeout;
        config.connect_timeout = config.connect_timeout.min(timeout);
        config.udp_max_wait = timeout;
        config.udp_retransmit_after = config.udp_retransmit_after.min(timeout / 4);
        config
    }

    /// Checks that every setting can work: deadlines, the size cap and the redirect count
    /// above 0 (`max_redirects` may be 0: none followed), and `min_interval` at most
    /// `max_interval`. A connect deadline longer than the whole request's is allowed: the
    /// request's deadline ends the connect too.
    pub fn validate(&self) -> Result<(), TrackerError> {
        let invalid = |reason: &str| Err(TrackerError::InvalidConfig(reason.into()));
        if self.timeout.is_zero() {
            return invalid("the tracker timeout must be more than 0");
        }
        if self.connect_timeout.is_zero() {
            return invalid("the tracker connect timeout must be more than 0");
        }
        if self.max_response_size == 0 {
            return invalid("the largest tracker answer must be more than 0 bytes");
        }
        if self.udp_retransmit_after.is_zero() || self.udp_max_wait.is_zero() {
            return invalid("the UDP tracker waits must be more than 0");
        }
        if self.min_interval > self.max_interval {
            return invalid("the shortest announce interval must not be longer than the longest");
        }
        Ok(())
    }

    /// When to announce next after `resp`: its `interval`, at least the tracker's own
    /// `min interval` and our [`min_interval`](Self::min_interval), at most our
    /// [`max_interval`](Self::max_interval). The ceiling wins over a tracker's `min interval`,
    /// so an absurd one cannot silence a torrent for days.
    pub fn clamp_interval(&self, resp: &AnnounceResponse) -> Duration {
        let ceiling = self.max_interval;
        let tracker_floor = Duration::from_secs(resp.min_interval.unwrap_or(0).into());
        let floor = self.min_interval.max(tracker_floor).min(ceiling);
        Duration::from_secs(resp.interval.into()).clamp(floor, ceiling)
    }
}

/// An HTTP(S) tracker client. Cloning is cheap and clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    udp: Arc<UdpClient>,
    config: Arc<ClientConfig>,
}

impl Client {
    /// A client with `config`. Fails if a setting cannot work ([`ClientConfig::validate`]), or
    /// TLS or the HTTP stack cannot be set up.
    pub fn new(config: ClientConfig) -> Result<Self, TrackerError> {
        config.validate()?;
        let tls =
            tls_config().map_err(|e| TrackerError::Transport(format!("cannot set up TLS: {e}")))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .http1_only()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(redirect_policy(config.max_redirects))
            // The Referer would repeat the announce URL, passkey and all, to the next host.
            .referer(false)
            .user_agent(config.user_agent.as_str())
            .build()
            .map_err(|e| TrackerError::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            udp: Arc::default(),
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Announces `req` to the tracker at `url` (which may carry its own query, e.g. a passkey).
    pub async fn announce(
        &self,
        url: &str,
        req: &AnnounceRequest,
    ) -> Result<AnnounceResponse, TrackerError> {
        req.validate()?;
        let answer = async {
            if is_udp(url) {
                return self.udp.announce(&self.config, url, req).await;
            }
            let url = with_query(http_url(url)?, &req.to_query());
            AnnounceResponse::decode(&self.get(url).await?)
        }
        .await;
        match &answer {
            Ok(response) => tracing::debug!(
                url,
                info_hash = %req.info_hash,
                event = ?req.event,
                peers = response.peers.len(),
                interval = response.interval,
                seeders = ?response.complete,
                leechers = ?response.incomplete,
                "announced"
            ),
            Err(error) => {
                tracing::debug!(url, info_hash = %req.info_hash, %error, "announce failed")
            }
        }
        answer
    }

    /// Scrapes (BEP 48) the tracker whose announce URL is `announce_url` for `hashes`; no
    /// hashes asks for every torrent the tracker will tell about.
    pub async fn scrape(
        &self,
        announce_url: &str,
        hashes: &[InfoHash],
    ) -> Result<ScrapeResponse, TrackerError> {
        if is_udp(announce_url) {
            return self.udp.scrape(&self.config, announce_url, hashes).await;
        }
        let mut announce = http_url(announce_url)?;
        // `scrape_url` splits at the first `?`, which a fragment may hold.
        announce.set_fragment(None);
        let scrape =
            wire::scrape_url(announce.as_str()).ok_or_else(|| TrackerError::InvalidUrl {
                url: announce_url.to_owned(),
                reason: "no scrape URL: the last path segment does not start with 'announce'"
                    .into(),
            })?;
        let mut url = http_url(&scrape)?;
        if !hashes.is_empty() {
            url = with_query(url, &wire::scrape_query(hashes));
        }
        ScrapeResponse::decode(&self.get(url).await?)
    }

    /// Downloads a `.torrent` file over http(s), as a browser would from a tracker's index
    /// page; at most `limit` bytes. Whether the answer is a torrent is the caller's to judge
    /// (the session's [`TorrentSource`](crate::session::TorrentSource) does).
    pub async fn fetch(&self, url: &str, limit: usize) -> Result<Fetched, TrackerError> {
        self.get_capped(http_url(url)?, limit).await
    }

    /// GETs `url` and reads the body, never holding more than the size cap.
    async fn get(&self, url: Url) -> Result<Vec<u8>, TrackerError> {
        Ok(self
            .get_capped(url, self.config.max_response_size)
            .await?
            .body)
    }

    async fn get_capped(&self, url: Url, limit: usize) -> Result<Fetched, TrackerError> {
        let mut resp = self.http.get(url).send().await.map_err(transport)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(TrackerError::Http {
                status: status.as_u16(),
            });
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(TrackerError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(TrackerError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, content_type })
    }
}

/// What [`Client::fetch`] got: the body, and what the server said it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// The `Content-Type` header as sent (e.g. `text/html; charset=utf-8`), if there is one in
    /// visible ASCII.
    pub content_type: Option<String>,
}

/// rustls with the ring provider (reqwest's `rustls-no-provider` leaves the choice to us), and
/// the platform's root certificates through the verifier reqwest itself uses by default; where
/// the system has no CA store (minimal containers), Mozilla's roots instead. Built once per
/// process: loading the system store reads hundreds of files. A frame of its own even in a
/// release build without debug info: the C suite's valgrind suppression of this one
/// process-wide cache names it.
#[inline(never)]
fn tls_config() -> Result<rustls::ClientConfig, String> {
    static TLS: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> =
            match rustls_platform_verifier::Verifier::new(provider.clone()) {
                Ok(platform) => Arc::new(platform),
                Err(_) => {
                    let mut roots = rustls::RootCertStore::empty();
                    roots.add_parsable_certificates(
                        webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned(),
                    );
                    rustls::client::WebPkiServerVerifier::builder_with_provider(
                        roots.into(),
                        provider.clone(),
                    )
                    .build()
                    .map_err(|e| e.to_string())?
                }
            };
        // `dangerous()` is only rustls's door to a custom verifier; this one verifies fully.
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tls)
    })
    .clone()
}

/// Whether `url` names a UDP tracker (BEP 15), the scheme in any case.
fn is_udp(url: &str) -> bool {
    url.get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("udp://"))
}

/// Parses a tracker URL; only `http` and `https` here (`udp` goes to [`UdpClient`]).
fn http_url(url: &str) -> Result<Url, TrackerError> {
    let invalid = |reason: String| TrackerError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(invalid(format!("scheme '{other}' is not http or https"))),
    }
}

/// Appends an already-escaped query to whatever query `url` has (a passkey, say).
fn with_query(mut url: Url, query: &str) -> Url {
    let joined = match url.query() {
        Some(q) if !q.is_empty() && !q.ends_with('&') => format!("{q}&{query}"),
        Some(q) => format!("{q}{query}"),
        None => query.to_owned(),
    };
    url.set_query(Some(&joined));
    url
}

/// Follows at most `max` redirects, only to http(s), and never from a public host to a
/// loopback, private or link-local one: a tracker on the internet must not be able to make us
/// query the services of our own network for it.
fn redirect_policy(max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let next = attempt.url();
        if attempt.previous().len() > max {
            let error = format!("more than {max} redirects");
            return attempt.error(error);
        }
        if !matches!(next.scheme(), "http" | "https") {
            let error = format!(
                "redirect to a {}: URL, only http(s) is followed",
                next.scheme()
            );
            return attempt.error(error);
        }
        let from_public = attempt.previous().first().is_some_and(|u| !is_local(u));
        if from_public && is_local(next) {
            let error = "redirect from a public host to a local address".to_owned();
            return attempt.error(error);
        }
        attempt.follow()
    })
}

/// Whether `url` names this machine or its network: a loopback, private, link-local,
/// shared or unspecified address, or `localhost`.
pub fn is_local(url: &Url) -> bool {
    use std::net::{IpAddr, Ipv4Addr};
    let v4 = |ip: Ipv4Addr| {
        let [a, b, ..] = ip.octets();
        ip.is_loopback()
            || ip.is_private()
            || ip.is_link_local()
            || ip.is_unspecified()
            || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let unbracketed = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = unbracketed.parse::<IpAddr>() else {
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        return name == "localhost" || name.ends_with(".localhost");
    };
    match ip {
        IpAddr::V4(ip) => v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => v4(mapped),
            None => {
                let first = ip.segments()[0];
                ip.is_loopback()
                    || ip.is_unspecified()
                    || (first & 0xfe00) == 0xfc00 // unique local
                    || (first & 0xffc0) == 0xfe80 // link-local
            }
        },
    }
}

/// A short message for a failed request: what failed and the innermost cause, without the URL
/// (it holds the info-hash and perhaps a passkey).
fn transport(e: reqwest::Error) -> TrackerError {
    if e.is_timeout() {
        return TrackerError::Timeout;
    }
    let what = if e.is_redirect() {
        "redirect failed"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut cause: &dyn std::error::Error = &e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    match cause.downcast_ref::<std::io::Error>() {
        Some(io) => TrackerError::Transport(format!("{what}: {}", crate::error::OsMessage(io))),
        None => TrackerError::Transport(format!("{what}: {cause}")),
    }
}

/// A torrent's trackers in BEP 12 tiers, remembering which URL last worked in each tier.
///
/// Fail-over goes on after a tracker's explicit `failure reason` too, as libtorrent does: one
/// tracker refusing a torrent ("unregistered torrent") says nothing about the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerList {
    tiers: Vec<Vec<String>>,
}

impl TrackerList {
    /// The tiers with each one shuffled once, as BEP 12 asks, so that clients spread over a
    /// tier's trackers. Blank URLs and empty tiers are dropped; [`TrackerError::NoTracker`] if
    /// nothing is left.
    pub fn new(tiers: Vec<Vec<String>>) -> Result<Self, TrackerError> {
        let mut list = Self::new_unshuffled(tiers)?;
        for tier in &mut list.tiers {
            fastrand::shuffle(tier);
        }
        Ok(list)
    }

    /// As [`new`](Self::new) but keeping the given order (for tests and for callers that
    /// restore a saved order).
    pub fn new_unshuffled(tiers: Vec<Vec<String>>) -> Result<Self, TrackerError> {
        let tiers: Vec<Vec<String>> = tiers
            .into_iter()
            .map(|tier| {
                tier.into_iter()
                    .map(|url| url.trim().to_owned())
                    .filter(|url| !url.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|tier| !tier.is_empty())
            .collect();
        if tiers.is_empty() {
            return Err(TrackerError::NoTracker);
        }
        Ok(TrackerList { tiers })
    }

    /// A torrent's `announce-list` if it has one (BEP 12 says to ignore `announce` then),
    /// else its `announce` as the only tier. Shuffled as in [`new`](Self::new).
    pub fn from_metainfo(metainfo: &Metainfo) -> Result<Self, TrackerError> {
        Self::new(Self::tiers_of(metainfo))
    }

    /// A torrent's tiers as BEP 12 reads them: `announce-list` when it names a tracker, else
    /// `announce` alone.
    pub fn tiers_of(metainfo: &Metainfo) -> Vec<Vec<String>> {
        if metainfo.announce_list().iter().flatten().next().is_some() {
            metainfo.announce_list().to_vec()
        } else {
            metainfo
                .announce()
                .into_iter()
                .map(|a| vec![a.into()])
                .collect()
        }
    }

    /// The tiers in their current order.
    pub fn tiers(&self) -> &[Vec<String>] {
        &self.tiers
    }

    /// Announces to the first tracker that answers: tiers in order, URLs within a tier in
    /// order. The one that answers moves to the front of its tier (BEP 12) and is returned
    /// with its answer. If none answers, the last error is returned. Each URL may take up to
    /// the client's timeout, so a long dead list takes a while: the session runs this in its
    /// own task.
    pub async fn announce(
        &mut self,
        client: &Client,
        req: &AnnounceRequest,
    ) -> Result<(String, AnnounceResponse), TrackerError> {
        self.announce_reporting(client, req, |_, _, _| {}).await
    }

    /// [`announce`](Self::announce), telling `seen` how each URL asked fared (its tier index,
    /// the URL, its answer or error) as the walk goes: what a caller needs to show every
    /// tracker's state, not only the last error.
    pub async fn announce_reporting(
        &mut self,
        client: &Client,
        req: &AnnounceRequest,
        seen: impl FnMut(usize, &str, Result<&AnnounceResponse, &TrackerError>),
    ) -> Result<(String, AnnounceResponse), TrackerError> {
        req.validate()?;
        self.first_answer(|url| async move { client.announce(&url, req).await }, seen)
            .await
    }

    /// Scrapes `hashes` from the first tracker that answers, in the same order and with the
    /// same promotion as [`announce`](Self::announce).
    pub async fn scrape(
        &mut self,
        client: &Client,
        hashes: &[InfoHash],
    ) -> Result<(String, ScrapeResponse), TrackerError> {
        self.first_answer(
            |url| async move { client.scrape(&url, hashes).await },
            |_, _, _| {},
        )
        .await
    }

    /// The BEP 12 walk: `ask` each URL in order until one answers, and promote it.
    /// (`ask` takes the URL owned, so its future borrows nothing of the list: the session
    /// spawns it.)
    async fn first_answer<T, F: std::future::Future<Output = Result<T, TrackerError>>>(
        &mut self,
        ask: impl Fn(String) -> F,
        mut seen: impl FnMut(usize, &str, Result<&T, &TrackerError>),
    ) -> Result<(String, T), TrackerError> {
        let mut last = TrackerError::NoTracker;
        for (t, tier) in self.tiers.iter_mut().enumerate() {
            for i in 0..tier.len() {
                match ask(tier[i].clone()).await {
                    Ok(answer) => {
                        seen(t, &tier[i], Ok(&answer));
                        let url = tier.remove(i);
                        tier.insert(0, url.clone());
                        return Ok((url, answer));
                    }
                    Err(e) => {
                        seen(t, &tier[i], Err(&e));
                        last = e;
                    }
                }
            }
        }
        Err(last)
    }
}

/// Exponential backoff between failed announces: `first`, doubling with each failure, capped
/// at `max`, optionally with ±10% jitter so that many torrents do not retry in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    jitter: bool,
    failures: u32,
}

impl Default for Backoff {
    /// 15 s, doubling up to 30 min, with jitter: a tracker that is down for a minute is retried
    /// soon, one that is down for a day is not hammered.
    fn default() -> Self {
        Backoff::new(Duration::from_secs(15), Duration::from_secs(30 * 60)).with_jitter(true)
    }
}

impl Backoff {
    /// Backoff without jitter (deterministic; see [`with_jitter`](Self::with_jitter)).
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max,
            jitter: false,
            failures: 0,
        }
    }

    /// Turns ±10% jitter on or off. Jitter never takes a delay past `max`.
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Records a failure and returns how long to wait before the next try.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.failures);
        self.failures = self.failures.saturating_add(1);
        let delay = self.first.saturating_mul(factor).min(self.max);
        if self.jitter {
            delay.mul_f64(0.9 + 0.2 * fastrand::f64()).min(self.max)
        } else {
            delay
        }
    }

    /// Failures recorded since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Call after a success: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Synchronous calls for the C and Python faces, each on a new current-thread tokio runtime
/// that ends with the call. Each takes a [`Cancel`](crate::cancel::Cancel), asked on the
/// calling thread: a cancelled call returns [`TrackerError::Cancelled`], one past its deadline
/// [`TrackerError::Timeout`].
///
/// Do not call these from inside a tokio runtime (an async task, or `spawn_blocking`): they
/// return [`TrackerError::Transport`] there instead of blocking the runtime. Use [`Client`].
pub mod blocking {
    use super::{Client, ClientConfig, Fetched, TrackerList};
    use crate::cancel::{Cancel, Stopped};
    use crate::metainfo::InfoHash;
    use crate::tracker::{AnnounceRequest, AnnounceResponse, ScrapeResponse, TrackerError};
    use std::future::Future;

    fn run<T>(
        cancel: Cancel<'_>,
        work: impl Future<Output = Result<T, TrackerError>>,
    ) -> Result<T, TrackerError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(TrackerError::Transport(
                "blocking tracker call made inside a tokio runtime; use the async Client".into(),
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TrackerError::Transport(format!("cannot start a runtime: {e}")))?;
        match runtime.block_on(cancel.run(work)) {
            Ok(result) => result,
            Err(Stopped::Cancelled) => Err(TrackerError::Cancelled),
            Err(Stopped::TimedOut) => Err(TrackerError::Timeout),
        }
    }

    /// [`Client::announce`], blocking.
    pub fn announce(
        config: &ClientConfig,
        url: &str,
        req: &AnnounceRequest,
        cancel: Cancel<'_>,
    ) -> Result<AnnounceResponse, TrackerError> {
        run(cancel, async {
            Client::new(config.clone())?.announce(url, req).await
        })
    }

    /// [`Client::scrape`], blocking.
    pub fn scrape(
        config: &ClientConfig,
        announce_url: &str,
        hashes: &[InfoHash],
        cancel: Cancel<'_>,
    ) -> Result<ScrapeResponse, TrackerError> {
        run(cancel, async {
            Client::new(config.clone())?
                .scrape(announce_url, hashes)
                .await
        })
    }

    /// [`Client::fetch`], blocking.
    pub fn fetch(
        config: &ClientConfig,
        url: &str,
        limit: usize,
        cancel: Cancel<'_>,
    ) -> Result<Fetched, TrackerError> {
        run(cancel, async {
            Client::new(config.clone())?.fetch(url, limit).await
        })
    }

    /// [`TrackerList::scrape`] over `tiers`, each shuffled first (BEP 12), blocking.
    pub fn scrape_tiers(
        config: &ClientConfig,
        tiers: &[Vec<String>],
        hashes: &[InfoHash],
        cancel: Cancel<'_>,
    ) -> Result<(String, ScrapeResponse), TrackerError> {
        let mut list = TrackerList::new(tiers.to_vec())?;
        run(cancel, async {
            let client = Client::new(config.clone())?;
            list.scrape(&client, hashes).await
        })
    }

    /// [`TrackerList::announce`] over `tiers`, each shuffled first (BEP 12), blocking.
    pub fn announce_tiers(
        config: &ClientConfig,
        tiers: &[Vec<String>],
        req: &AnnounceRequest,
        cancel: Cancel<'_>,
    ) -> Result<(String, AnnounceResponse), TrackerError> {
        let mut list = TrackerList::new(tiers.to_vec())?;
        run(cancel, async {
            let client = Client::new(config.clone())?;
            list.announce(&client, req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_are_told_from_public_ones() {
        for local in [
            "http://127.0.0.1/a",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1:8080/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:192.168.0.1]/",
            "http://localhost:6969/announce",
            "http://tracker.localhost./",
        ] {
            assert!(is_local(&Url::parse(local).unwrap()), "{local}");
        }
        for public in [
            "http://93.184.216.34/",
            "http://100.128.0.1/",
            "http://[2001:db8::1]/",
            "https://tracker.example/announce",
            "http://localhost.example/",
        ] {
            assert!(!is_local(&Url::parse(public).unwrap()), "{public}");
        }
    }
}
