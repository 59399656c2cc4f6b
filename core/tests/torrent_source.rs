//! Loading a `.torrent` by URL from a plain web server: each failure names the URL and what
//! failed (the fetch, or an answer that is no torrent), in a web server's words, not a
//! tracker's.

use bittern_core::cancel::Cancel;
use bittern_core::session::TorrentSource;
use bittern_core::{Error, ErrorKind};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

const TORRENT: &[u8] = include_bytes!("../../tests/vectors/torrents/multi.torrent");

/// A web server on 127.0.0.1 answering each path with a canned status, type and body; its
/// base URL.
fn web_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let path = request.split(' ').nth(1).unwrap_or("/");
            let (status, content_type, body): (_, _, &[u8]) = match path {
                "/page.torrent" => (
                    "200 OK",
                    "text/html; charset=utf-8",
                    b"<!DOCTYPE html>\n<html><body>Please log in</body></html>",
                ),
                "/text.torrent" => ("200 OK", "text/plain", b"denied: try again later"),
                "/empty.torrent" => ("200 OK", "application/x-bittorrent", b""),
                "/bencode.torrent" => ("200 OK", "application/x-bittorrent", b"d4:infoi1ee"),
                "/truncated.torrent" => ("200 OK", "application/x-bittorrent", b"d4:info"),
                "/plain.torrent" => ("200 OK", "text/plain", TORRENT),
                _ => ("404 Not Found", "text/html", b"<html>Not Found</html>"),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        }
    });
    base
}

fn load(url: &str) -> Result<bittern_core::metainfo::Metainfo, Error> {
    TorrentSource::parse(url)?.load(&Default::default(), Cancel::NEVER)
}

fn failure(url: &str) -> (String, ErrorKind) {
    let e = load(url).unwrap_err();
    let message = e.to_string();
    assert!(!message.contains("tracker"), "{message}");
    (message, e.kind())
}

#[test]
fn a_missing_file_is_a_failed_fetch_of_that_url() {
    let url = format!("{}/missing.torrent", web_server());
    let (message, kind) = failure(&url);
    assert_eq!(
        message,
        format!("cannot fetch the torrent file {url}: HTTP 404 Not Found")
    );
    assert_eq!(kind, ErrorKind::Network);
}

#[test]
fn an_unreachable_server_is_a_failed_fetch_of_that_url() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x.torrent", listener.local_addr().unwrap());
    drop(listener);
    let (message, kind) = failure(&url);
    assert!(
        message.starts_with(&format!(
            "cannot fetch the torrent file {url}: connection failed"
        )),
        "{message}"
    );
    assert_eq!(kind, ErrorKind::Network);
}

#[test]
fn a_page_or_text_is_not_a_torrent_file() {
    let base = web_server();
    for (path, says) in [
        (
            "/page.torrent",
            "(the server sent text/html, starting \"<!DOCTYPE html> <html><body>Please log i...\")",
        ),
        (
            "/text.torrent",
            "(the server sent text/plain, starting \"denied: try again later\")",
        ),
        (
            "/empty.torrent",
            "(the server sent an empty answer, application/x-bittorrent)",
        ),
    ] {
        let url = format!("{base}{path}");
        let (message, kind) = failure(&url);
        assert_eq!(message, format!("{url} is not a torrent file {says}"));
        assert_eq!(kind, ErrorKind::Metainfo, "{message}");
    }
}

#[test]
fn bencode_that_is_no_torrent_keeps_its_error_and_names_the_url() {
    let base = web_server();
    let url = format!("{base}/bencode.torrent");
    let (message, kind) = failure(&url);
    assert!(
        message.starts_with(&format!("{url}: invalid torrent: info")),
        "{message}"
    );
    assert_eq!(kind, ErrorKind::Metainfo);

    let url = format!("{base}/truncated.torrent");
    let e = load(&url).unwrap_err();
    assert!(e.to_string().starts_with(&format!("{url}: ")), "{e}");
    assert_eq!(e.kind(), ErrorKind::Bencode);
    assert!(e.offset().is_some());
}

#[test]
fn a_torrent_served_as_text_still_loads() {
    let url = format!("{}/plain.torrent", web_server());
    assert_eq!(load(&url).unwrap().as_bytes(), TORRENT);
}
