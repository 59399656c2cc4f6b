//! The tracker client against a tiny hostile HTTP server: each connection's request head is
//! recorded and answered with canned raw bytes (or nothing, or bytes without end).

use bittern_core::cancel::Cancel;
use bittern_core::tracker::client::{blocking, Backoff, Client, ClientConfig, TrackerList};
use bittern_core::tracker::wire;
use bittern_core::tracker::{AnnounceRequest, AnnounceResponse, Event, PeerId, TrackerError};
use bittern_core::{InfoHash, Metainfo};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

enum Reply {
    /// Written as is, then the connection is closed.
    Raw(Vec<u8>),
    /// A 200 head, then `x` until the client hangs up.
    Endless,
    /// Nothing, ever; the connection stays open.
    Silent,
}

struct Server {
    addr: SocketAddr,
    /// The request target (`/announce?...`) of each request, in order.
    targets: mpsc::UnboundedReceiver<String>,
    /// Each request's head, lowercased.
    heads: mpsc::UnboundedReceiver<String>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn target(&mut self) -> String {
        self.targets
            .recv()
            .await
            .expect("a request reached the server")
    }
}

async fn serve(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (target_tx, targets) = mpsc::unbounded_channel();
    let (head_tx, heads) = mpsc::unbounded_channel();
    let reply = Arc::new(reply);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (target_tx, head_tx, reply) = (target_tx.clone(), head_tx.clone(), reply.clone());
            tokio::spawn(async move {
                let Some(head) = read_head(&mut sock).await else {
                    return;
                };
                let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let _ = head_tx.send(head.to_lowercase());
                let _ = target_tx.send(target.clone());
                match reply(&target) {
                    Reply::Raw(bytes) => {
                        let _ = sock.write_all(&bytes).await;
                        let _ = sock.shutdown().await;
                    }
                    Reply::Endless => {
                        let _ = sock.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
                        let chunk = vec![b'x'; 64 * 1024];
                        while sock.write_all(&chunk).await.is_ok() {}
                    }
                    Reply::Silent => std::future::pending().await,
                }
            });
        }
    });
    Server {
        addr,
        targets,
        heads,
    }
}

async fn read_head(sock: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn ok(body: &[u8]) -> Reply {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    Reply::Raw(r)
}

/// An answer whose length is only known when the connection closes.
fn ok_unsized(body: &[u8]) -> Reply {
    let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    r.extend_from_slice(body);
    Reply::Raw(r)
}

fn status(code: u16, extra_headers: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 {code} X\r\n{extra_headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .into_bytes(),
    )
}

fn config() -> ClientConfig {
    let mut c = ClientConfig::default();
    c.timeout = Duration::from_secs(5);
    c.connect_timeout = Duration::from_secs(2);
    c
}

fn client() -> Client {
    Client::new(config()).unwrap()
}

/// Bytes that every escaping mistake would mangle: `%`, `&`, `=`, `+`, space, `?`, `#`, NUL.
fn request() -> AnnounceRequest {
    let mut hash = [0u8; 20];
    hash[..10].copy_from_slice(b"%&=+ ?#/\x00\xff");
    hash[10..].copy_from_slice(&[0x80, 0x7f, 0x2b, 0x20, 0x25, 0x32, 0x30, 0xfe, 0x01, 0x41]);
    let mut r = AnnounceRequest::new(
        InfoHash(hash),
        PeerId(*b"-BT0001-%20+&=#?\x00\xff\x10\x11"),
        6881,
        12345,
    );
    r.event = Some(Event::Started);
    r.key = Some(b"k=y&".to_vec());
    r
}

fn query_of(target: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let (_, query) = target.split_once('?').expect("a query");
    let pairs = wire::parse_query(query.as_bytes()).unwrap();
    pairs
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'q>(pairs: &'q [(Vec<u8>, Vec<u8>)], key: &str) -> &'q [u8] {
    let mut found = pairs.iter().filter(|(k, _)| k == key.as_bytes());
    let (_, v) = found.next().unwrap_or_else(|| panic!("no {key}"));
    assert!(found.next().is_none(), "{key} twice");
    v
}

fn compact(peers: &[(&[u8; 4], u16)]) -> Vec<u8> {
    let mut list = Vec::new();
    for (ip, port) in peers {
        list.extend_from_slice(&ip[..]);
        list.extend_from_slice(&port.to_be_bytes());
    }
    let mut body = format!(
        "d8:completei5e10:incompletei7e8:intervali1800e5:peers{}:",
        list.len()
    )
    .into_bytes();
    body.extend_from_slice(&list);
    body.push(b'e');
    body
}

fn addrs(resp: &AnnounceResponse) -> Vec<SocketAddr> {
    resp.peers.iter().map(|p| p.addr).collect()
}

#[tokio::test]
async fn compact_answer_and_exact_escaping() {
    let body = compact(&[(&[10, 0, 0, 1], 6881), (&[192, 168, 1, 2], 51413)]);
    let mut server = serve(move |_| ok(&body)).await;
    let req = request();
    let resp = client()
        .announce(&server.url("/announce"), &req)
        .await
        .unwrap();
    assert_eq!(resp.interval, 1800);
    assert_eq!((resp.complete, resp.incomplete), (Some(5), Some(7)));
    assert_eq!(
        addrs(&resp),
        [
            "10.0.0.1:6881".parse().unwrap(),
            "192.168.1.2:51413".parse().unwrap()
        ]
    );

    let target = server.target().await;
    assert!(target.starts_with("/announce?info_hash="), "{target}");
    let q = query_of(&target);
    assert_eq!(param(&q, "info_hash"), req.info_hash.0);
    assert_eq!(param(&q, "peer_id"), req.peer_id.0);
    assert_eq!(param(&q, "key"), b"k=y&");
    assert_eq!(param(&q, "port"), b"6881");
    assert_eq!(param(&q, "left"), b"12345");
    assert_eq!(param(&q, "event"), b"started");
    assert_eq!(param(&q, "compact"), b"1");
    let head = server.heads.recv().await.unwrap();
    assert!(
        head.contains(&format!("user-agent: bittern/{}", bittern_core::VERSION)),
        "{head}"
    );
}

#[tokio::test]
async fn a_url_with_a_query_gets_ours_after_an_ampersand() {
    let mut server = serve(|_| ok(&compact(&[]))).await;
    let req = request();
    for (path, passkey) in [
        ("/announce.php?passkey=a%2Fb#fragment", Some(&b"a/b"[..])),
        ("/announce?passkey=abc&", Some(&b"abc"[..])),
        ("/announce?", None),
    ] {
        client().announce(&server.url(path), &req).await.unwrap();
        let target = server.target().await;
        assert!(!target.contains('#') && !target.contains("&&"), "{target}");
        assert!(!target.contains("?&"), "{target}");
        let q = query_of(&target);
        assert_eq!(param(&q, "info_hash"), req.info_hash.0, "{target}");
        if let Some(passkey) = passkey {
            assert_eq!(q[0], (b"passkey".to_vec(), passkey.to_vec()), "{target}");
        }
    }
}

#[tokio::test]
async fn dictionary_peers_and_port_zero() {
    let body = b"d8:intervali900e5:peersl\
        d2:ip8:10.0.0.17:peer id20:AAAAAAAAAAAAAAAAAAAA4:porti6881ee\
        d2:ip8:10.0.0.24:porti0ee\
        d2:ip11:example.org4:porti80ee\
        d2:ip3:::14:porti51413ee\
        ee";
    let server = serve(|_| ok(body)).await;
    let resp = client()
        .announce(&server.url("/announce"), &request())
        .await
        .unwrap();
    assert_eq!(
        addrs(&resp),
        [
            "10.0.0.1:6881".parse().unwrap(),
            "[::1]:51413".parse().unwrap()
        ]
    );
    assert_eq!(resp.peers[0].peer_id, Some(PeerId([b'A'; 20])));

    let body = compact(&[(&[1, 2, 3, 4], 0), (&[5, 6, 7, 8], 80)]);
    let server = serve(move |_| ok(&body)).await;
    let resp = client()
        .announce(&server.url("/announce"), &request())
        .await
        .unwrap();
    assert_eq!(addrs(&resp), ["5.6.7.8:80".parse().unwrap()]);
}

#[tokio::test]
async fn failure_reason_and_warning() {
    let server = serve(|_| ok(b"d14:failure reason20:unregistered torrente")).await;
    let err = client()
        .announce(&server.url("/announce"), &request())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TrackerError::Failure(r) if r == "unregistered torrent"),
        "{err:?}"
    );

    let server = serve(|_| ok(b"d8:intervali60e5:peers0:15:warning message9:slow downe")).await;
    let resp = client()
        .announce(&server.url("/announce"), &request())
        .await
        .unwrap();
    assert_eq!(resp.warning.as_deref(), Some("slow down"));
}

#[tokio::test]
async fn nonsense_answers_are_invalid() {
    for body in [
        &b"<html><body>It works!</body></html>"[..],
        b"d8:intervali60e5:peers7:\x01\x02\x03\x04\x1a\xe1\x05e",
        b"d8:intervali60e5:peers12:\x01\x02\x03\x04e",
        b"",
    ] {
        let server = serve(move |_| ok(body)).await;
        let err = client()
            .announce(&server.url("/announce"), &request())
            .await
            .unwrap_err();
        assert!(
            matches!(err, TrackerError::InvalidResponse(_)),
            "{body:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn endless_body_stops_at_the_cap() {
    let server = serve(|_| Reply::Endless).await;
    let mut config = config();
    config.timeout = Duration::from_secs(20);
    let start = Instant::now();
    let err = Client::new(config)
        .unwrap()
        .announce(&server.url("/announce"), &request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TrackerError::TooLarge { limit } if limit == 1 << 20),
        "{err:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn declared_ten_mib_is_refused_unread() {
    let server = serve(|_| {
        let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n".to_vec();
        r.resize(r.len() + (10 << 20), b'x');
        Reply::Raw(r)
    })
    .await;
    let err = client()
        .announce(&server.url("/announce"), &request())
        .await
        .unwrap_err();
    assert!(matches!(err, TrackerError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn the_cap_is_exact() {
    // A valid answer padded by its warning to exactly `size` bytes.
    fn padded(size: usize) -> Vec<u8> {
        let fixed = b"d8:intervali60e5:peers0:15:warning message".len() + 1;
        let text_len = size - fixed - 5; // "1000:" for lengths of four digits
        let mut body =
            format!("d8:intervali60e5:peers0:15:warning message{text_len}:").into_bytes();
        body.resize(body.len() + text_len, b'w');
        body.push(b'e');
        assert_eq!(body.len(), size);
        body
    }
    let mut config = config();
    config.max_response_size = 2000;
    let client = Client::new(config).unwrap();
    for (size, fits) in [(2000, true), (2001, false)] {
        let server = serve(move |_| ok_unsized(&padded(size))).await;
        let result = client.announce(&server.url("/announce"), &request()).await;
        match fits {
            true => assert!(result.is_ok(), "{size}: {result:?}"),
            false => assert!(
                matches!(result, Err(TrackerError::TooLarge { limit: 2000 })),
                "{size}: {result:?}"
            ),
        }
    }
}

#[tokio::test]
async fn silent_tracker_times_out_on_time() {
    let server = serve(|_| Reply::Silent).await;
    let mut config = config();
    config.timeout = Duration::from_millis(300);
    let start = Instant::now();
    let err = Client::new(config)
        .unwrap()
        .announce(&server.url("/announce"), &request())
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, TrackerError::Timeout), "{err:?}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn http_errors_and_refused_connections() {
    let server = serve(|_| status(500, "")).await;
    let err = client()
        .announce(&server.url("/announce"), &request())
        .await
        .unwrap_err();
    assert!(matches!(err, TrackerError::Http { status: 500 }), "{err:?}");

    let closed = closed_port().await;
    let err = client()
        .announce(&format!("http://{closed}/announce"), &request())
        .await
        .unwrap_err();
    let TrackerError::Transport(message) = &err else {
        panic!("{err:?}");
    };
    assert!(message.starts_with("connection failed"), "{message}");
    assert!(!message.contains("info_hash"), "{message}");
    // One style of message: the system's words, no "(os error N)" suffix.
    assert!(!message.contains("os error"), "{message}");
}

#[tokio::test]
async fn tls_to_a_plain_server_is_a_transport_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\n\r\nnot tls").await;
        }
    });
    let err = client()
        .announce(&format!("https://{addr}/announce"), &request())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TrackerError::Transport(m) if m.starts_with("connection failed")),
        "{err:?}"
    );
}

#[tokio::test]
async fn redirects_once_but_not_forever() {
    let mut server = serve(|target| match target.strip_prefix("/announce?") {
        Some(query) => status(302, &format!("Location: /moved/announce?{query}\r\n")),
        None => ok(&compact(&[(&[9, 9, 9, 9], 9999)])),
    })
    .await;
    let req = request();
    let resp = client()
        .announce(&server.url("/announce"), &req)
        .await
        .unwrap();
    assert_eq!(addrs(&resp), ["9.9.9.9:9999".parse().unwrap()]);
    server.target().await;
    let moved = server.target().await;
    assert!(moved.starts_with("/moved/announce?"), "{moved}");
    assert_eq!(param(&query_of(&moved), "info_hash"), req.info_hash.0);

    let mut server = serve(|target| status(302, &format!("Location: {target}\r\n"))).await;
    let err = client()
        .announce(&server.url("/announce"), &request())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TrackerError::Transport(m) if m.contains("redirect")),
        "{err:?}"
    );
    let mut followed = 0;
    while server.targets.try_recv().is_ok() {
        followed += 1;
    }
    assert_eq!(followed, 1 + config().max_redirects);
}

#[test]
fn absurd_intervals_are_clamped() {
    let config = ClientConfig::default();
    let answer = |body: &[u8]| AnnounceResponse::decode(body).unwrap();
    let cases: [(&[u8], u64); 7] = [
        (b"d8:intervali0ee", 60),
        (b"d8:intervali-5ee", 60),
        (b"d8:intervali1000000000000ee", 7200),
        (b"d8:intervali1800ee", 1800),
        (b"d8:intervali100e12:min intervali300ee", 300),
        (b"d8:intervali100e12:min intervali1000000000000ee", 7200),
        (b"d8:intervali100e12:min intervali-1ee", 100),
    ];
    for (body, want) in cases {
        assert_eq!(
            config.clamp_interval(&answer(body)),
            Duration::from_secs(want),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[tokio::test]
async fn scrape_goes_to_the_scrape_url() {
    let hash = request().info_hash;
    let mut body = b"d5:filesd20:".to_vec();
    body.extend_from_slice(&hash.0);
    body.extend_from_slice(b"d8:completei3e10:downloadedi10e10:incompletei4eeee");
    let mut server = serve(move |_| ok(&body)).await;
    let resp = client()
        .scrape(&server.url("/x/announce.php?passkey=p"), &[hash])
        .await
        .unwrap();
    assert_eq!(resp.files.len(), 1);
    assert_eq!(resp.files[0].0, hash);
    let s = resp.files[0].1;
    assert_eq!((s.complete, s.downloaded, s.incomplete), (3, 10, 4));
    let target = server.target().await;
    assert!(target.starts_with("/x/scrape.php?passkey=p&"), "{target}");
    let q = query_of(&target);
    assert_eq!(param(&q, "info_hash"), hash.0);

    let err = client()
        .scrape(&server.url("/tracker"), &[hash])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TrackerError::InvalidUrl { reason, .. } if reason.contains("scrape")),
        "{err:?}"
    );
}

#[tokio::test]
async fn only_http_and_udp_urls() {
    for url in [
        "wss://tracker.example:1337/announce",
        "udp://tracker.example/announce",
        "not a url",
        "",
        "ftp://example.org/announce",
        "http://",
    ] {
        let err = client().announce(url, &request()).await.unwrap_err();
        assert!(
            matches!(&err, TrackerError::InvalidUrl { url: u, .. } if u == url),
            "{url}: {err:?}"
        );
        let err = client().scrape(url, &[]).await.unwrap_err();
        assert!(
            matches!(err, TrackerError::InvalidUrl { .. }),
            "{url}: {err:?}"
        );
    }
}

/// A port nothing listens on (bound, read back, released).
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn tiers_fail_over_and_remember() {
    let good = serve(|_| ok(&compact(&[(&[1, 1, 1, 1], 1111)]))).await;
    let refusing = serve(|_| ok(b"d14:failure reason4:nopee")).await;
    let dead = format!("http://{}/announce", closed_port().await);
    let good_url = good.url("/announce");
    let mut list = TrackerList::new_unshuffled(vec![
        vec![dead.clone(), "udp://x:1/announce".into(), good_url.clone()],
        vec![refusing.url("/announce")],
    ])
    .unwrap();
    let (url, resp) = list.announce(&client(), &request()).await.unwrap();
    assert_eq!(url, good_url);
    assert_eq!(addrs(&resp), ["1.1.1.1:1111".parse().unwrap()]);
    assert_eq!(
        list.tiers()[0],
        [good_url.clone(), dead.clone(), "udp://x:1/announce".into()]
    );
    assert_eq!(list.tiers()[1], [refusing.url("/announce")]);

    // A refusal fails over too; when everything fails, the last error comes back.
    let mut list = TrackerList::new_unshuffled(vec![
        vec![refusing.url("/announce")],
        vec![dead.clone()],
        vec![good_url.clone()],
    ])
    .unwrap();
    assert_eq!(
        list.announce(&client(), &request()).await.unwrap().0,
        good_url
    );
    let mut list =
        TrackerList::new_unshuffled(vec![vec![dead.clone()], vec![refusing.url("/announce")]])
            .unwrap();
    let err = list.announce(&client(), &request()).await.unwrap_err();
    assert!(
        matches!(&err, TrackerError::Failure(r) if r == "nope"),
        "{err:?}"
    );
}

#[test]
fn tiers_shuffle_within_but_not_across() {
    let tier: Vec<String> = (0..6).map(|i| format!("http://t{i}/announce")).collect();
    let tiers = vec![tier.clone(), vec!["http://last/announce".into()]];
    let mut orders = std::collections::HashSet::new();
    for _ in 0..50 {
        let list = TrackerList::new(tiers.clone()).unwrap();
        let mut sorted = list.tiers()[0].clone();
        sorted.sort();
        assert_eq!(sorted, tier);
        assert_eq!(list.tiers()[1], tiers[1]);
        orders.insert(list.tiers()[0].clone());
    }
    assert!(orders.len() > 1, "never shuffled");
    assert_eq!(
        TrackerList::new_unshuffled(tiers.clone()).unwrap().tiers(),
        tiers
    );
}

#[test]
fn no_tracker() {
    for tiers in [vec![], vec![vec![]], vec![vec![" ".to_string()], vec![]]] {
        assert!(matches!(
            TrackerList::new(tiers),
            Err(TrackerError::NoTracker)
        ));
    }
    let mut torrent = Metainfo::from_bytes(
        b"d4:infod6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee",
    )
    .unwrap();
    assert!(matches!(
        TrackerList::from_metainfo(&torrent),
        Err(TrackerError::NoTracker)
    ));
    assert!(matches!(
        blocking::announce_tiers(&config(), &[], &request(), Cancel::NEVER),
        Err(TrackerError::NoTracker)
    ));

    torrent.set_announce(Some("http://a/announce"));
    assert_eq!(
        TrackerList::from_metainfo(&torrent).unwrap().tiers(),
        [vec!["http://a/announce".to_string()]]
    );
    // BEP 12: with an announce-list, `announce` is ignored.
    torrent.set_announce_list(vec![
        vec!["http://b/announce".into()],
        vec!["http://c/announce".into()],
    ]);
    assert_eq!(
        TrackerList::from_metainfo(&torrent).unwrap().tiers(),
        [
            vec!["http://b/announce".to_string()],
            vec!["http://c/announce".to_string()]
        ]
    );
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let mut b = Backoff::new(Duration::from_secs(15), Duration::from_secs(30 * 60));
    let delays: Vec<u64> = (0..10).map(|_| b.next_delay().as_secs()).collect();
    assert_eq!(delays, [15, 30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
    assert_eq!(b.failures(), 10);
    for _ in 0..100 {
        b.next_delay();
    }
    assert_eq!(b.next_delay(), Duration::from_secs(1800));
    b.reset();
    assert_eq!(b.next_delay(), Duration::from_secs(15));

    let mut jittered = Backoff::default();
    assert_eq!(jittered, Backoff::default().with_jitter(true));
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        jittered.reset();
        let d = jittered.next_delay();
        assert!(
            d >= Duration::from_millis(13_500) && d <= Duration::from_millis(16_500),
            "{d:?}"
        );
        seen.insert(d);
    }
    assert!(seen.len() > 1, "no jitter");
    for _ in 0..20 {
        assert!(jittered.next_delay() <= Duration::from_secs(1800));
    }
}

#[test]
fn blocking_calls_work_outside_a_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hash = request().info_hash;
    let server = rt.block_on(serve(move |target| {
        if target.starts_with("/scrape") {
            let mut body = b"d5:filesd20:".to_vec();
            body.extend_from_slice(&hash.0);
            body.extend_from_slice(b"d8:completei1e10:downloadedi2e10:incompletei3eeee");
            ok(&body)
        } else {
            ok(&compact(&[(&[4, 3, 2, 1], 4321)]))
        }
    }));
    let url = server.url("/announce");
    let resp = blocking::announce(&config(), &url, &request(), Cancel::NEVER).unwrap();
    assert_eq!(addrs(&resp), ["4.3.2.1:4321".parse().unwrap()]);
    let scrape = blocking::scrape(&config(), &url, &[hash], Cancel::NEVER).unwrap();
    assert_eq!(scrape.files[0].1.incomplete, 3);
    let dead = format!("http://{}/announce", rt.block_on(closed_port()));
    let (used, _) = blocking::announce_tiers(
        &config(),
        &[vec![dead], vec![url.clone()]],
        &request(),
        Cancel::NEVER,
    )
    .unwrap();
    assert_eq!(used, url);
    assert!(matches!(
        blocking::announce(&config(), "wss://x:1", &request(), Cancel::NEVER),
        Err(TrackerError::InvalidUrl { .. })
    ));

    // Inside a runtime the call refuses rather than panicking or blocking a worker.
    let inside =
        rt.block_on(async { blocking::announce(&config(), &url, &request(), Cancel::NEVER) });
    assert!(
        matches!(&inside, Err(TrackerError::Transport(m)) if m.contains("runtime")),
        "{inside:?}"
    );
}

#[test]
fn blocking_calls_stop_when_cancelled_or_past_their_deadline() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(serve(|_| Reply::Silent));
    let url = server.url("/announce");
    let caller = std::thread::current().id();
    let asked = std::sync::atomic::AtomicU32::new(0);
    let go_on = || {
        assert_eq!(std::thread::current().id(), caller);
        asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 3
    };
    let started = Instant::now();
    let cancelled = blocking::announce(&config(), &url, &request(), Cancel::when(&go_on));
    assert!(
        matches!(cancelled, Err(TrackerError::Cancelled)),
        "{cancelled:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let e = bittern_core::Error::from(cancelled.unwrap_err());
    assert_eq!(e.kind(), bittern_core::ErrorKind::Cancelled);

    let started = Instant::now();
    let deadline = Cancel::NEVER.with_timeout(Duration::from_millis(200));
    let late = blocking::scrape(&config(), &url, &[request().info_hash], deadline);
    assert!(matches!(late, Err(TrackerError::Timeout)), "{late:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A timeout is a kind of its own, whichever deadline ran out.
    assert_eq!(
        bittern_core::Error::from(late.unwrap_err()).kind(),
        bittern_core::ErrorKind::Timeout
    );
}

#[test]
fn settings_that_cannot_work_are_refused() {
    let mut bad = ClientConfig::default();
    bad.timeout = Duration::ZERO;
    let e = Client::new(bad).unwrap_err();
    assert!(
        matches!(&e, TrackerError::InvalidConfig(m) if m.contains("timeout")),
        "{e}"
    );
    assert_eq!(
        bittern_core::Error::from(e).kind(),
        bittern_core::ErrorKind::InvalidArgument
    );
    let mut bad = ClientConfig::default();
    bad.min_interval = bad.max_interval + Duration::from_secs(1);
    assert!(bad.validate().is_err());
    // Shortening the whole deadline shortens the connect deadline with it.
    let short = ClientConfig::with_timeout(Duration::from_secs(2));
    assert_eq!(short.connect_timeout, Duration::from_secs(2));
    assert!(short.validate().is_ok());
    let long = ClientConfig::with_timeout(Duration::from_secs(60));
    assert_eq!(
        long.connect_timeout,
        ClientConfig::default().connect_timeout
    );
}

#[test]
fn an_announce_that_cannot_work_is_refused_before_anything_is_sent() {
    let mut zero_port = request();
    zero_port.port = 0;
    // Nothing listens at port 1: had the announce been sent, this would be a transport error.
    let tiers = vec![vec!["http://127.0.0.1:1/announce".to_string()]];
    for result in [
        blocking::announce(&config(), &tiers[0][0], &zero_port, Cancel::NEVER),
        blocking::announce_tiers(&config(), &tiers, &zero_port, Cancel::NEVER).map(|(_, r)| r),
    ] {
        let e = result.unwrap_err();
        assert!(
            matches!(e, TrackerError::InvalidRequest(m) if m.contains("port")),
            "{e}"
        );
        assert_eq!(
            bittern_core::Error::from(e).kind(),
            bittern_core::ErrorKind::InvalidArgument
        );
    }
    assert_eq!("stopped".parse::<Event>().unwrap(), Event::Stopped);
    assert!(matches!(
        "paused".parse::<Event>(),
        Err(TrackerError::InvalidRequest(_))
    ));
}
