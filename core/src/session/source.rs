//! Where a torrent to add comes from: the one loader behind `bittern download`, Python's
//! `Session.add` and C's `bittern_torrent_load` / `_fetch` / `_from_bytes`; a magnet link is
//! added as it is ([`Session::add_source`](super::Session::add_source)).

use super::SessionError;
use crate::bencode::{decode, DecodeOptions, Mode};
use crate::cancel::Cancel;
use crate::magnet::Magnet;
use crate::metainfo::{LoadLimits, Metainfo};
use crate::tracker::client::{blocking, ClientConfig, Fetched};
use std::path::PathBuf;

/// The largest `.torrent` fetched over http(s), in bytes.
pub const MAX_FETCHED_TORRENT: usize = 16 << 20;

/// A `.torrent` file's place: a path, an http(s) URL, or its bytes at hand; or a magnet link,
/// whose metadata peers give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TorrentSource {
    Path(PathBuf),
    Url(String),
    Bytes(Vec<u8>),
    Magnet(Magnet),
}

impl TorrentSource {
    /// What a user typed: a magnet link, an `http://` or `https://` URL (the scheme in any
    /// case), a `file:` URL of this host, or else a path. Other schemes are refused with
    /// [`SessionError::UnsupportedSource`], a malformed magnet link with its
    /// [`MagnetError`](crate::magnet::MagnetError).
    pub fn parse(text: &str) -> Result<TorrentSource, crate::Error> {
        let unsupported = |reason| SessionError::UnsupportedSource {
            text: text.to_owned(),
            reason,
        };
        let Some((scheme, rest)) = text.split_once(':') else {
            return Ok(TorrentSource::Path(text.into()));
        };
        let is_scheme = scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !is_scheme {
            // `C:`-less Unix paths with a colon, such as `a:b.torrent`, are paths.
            return Ok(TorrentSource::Path(text.into()));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => Ok(TorrentSource::Url(text.to_owned())),
            "magnet" => Ok(TorrentSource::Magnet(Magnet::parse(text)?)),
            "file" => {
                let url =
                    reqwest::Url::parse(text).map_err(|_| unsupported("not a valid file URL"))?;
                if !matches!(url.host_str(), None | Some("") | Some("localhost")) {
                    return Err(unsupported("a file URL of another host").into());
                }
                Ok(url
                    .to_file_path()
                    .map(TorrentSource::Path)
                    .map_err(|_| unsupported("not a valid file URL"))?)
            }
            _ if rest.starts_with("//") => {
                Err(unsupported("only http and https URLs are supported").into())
            }
            _ => Ok(TorrentSource::Path(text.into())),
        }
    }

    /// Reads, fetches (at most [`MAX_FETCHED_TORRENT`] bytes, with `client`'s deadlines) or
    /// parses the torrent. `cancel` is asked on this thread while a fetch waits.
    ///
    /// A URL's failures name it: [`SessionError::Fetch`] when nothing usable came (an HTTP
    /// error status, a failed connection, the deadline, `cancel`),
    /// [`SessionError::NotATorrent`] for an answer that is not bencode (an HTML page), and
    /// [`SessionError::InvalidFetched`] for bencode that is not a valid torrent. A magnet link
    /// has nothing to load ([`SessionError::UnsupportedSource`]): its metadata comes from
    /// peers once it is added.
    pub fn load(
        &self,
        client: &ClientConfig,
        cancel: Cancel<'_>,
    ) -> Result<Metainfo, crate::Error> {
        match self {
            TorrentSource::Path(path) => Ok(Metainfo::load(path)?),
            TorrentSource::Url(url) => {
                let fetched =
                    blocking::fetch(client, url, MAX_FETCHED_TORRENT, cancel).map_err(|cause| {
                        SessionError::Fetch {
                            url: url.clone(),
                            cause,
                        }
                    })?;
                Ok(fetched_torrent(url, fetched)?)
            }
            TorrentSource::Bytes(bytes) => Ok(Metainfo::from_bytes(bytes)?),
            TorrentSource::Magnet(magnet) => Err(SessionError::UnsupportedSource {
                text: magnet.to_string(),
                reason: "a magnet link has no torrent file to load: its metadata comes from \
                         peers once it is added to a session",
            }
            .into()),
        }
    }
}

/// The torrent `url` answered with, or why the answer is not one. A torrent is a bencoded
/// dictionary, so it starts with `d`; what does not is no torrent at all (a login page, a "not
/// found" page sent with status 200). Nor is text that happens to start with `d` (`de` reads
/// as an empty dictionary): bencode is one value that ends where the answer ends, and what a
/// server calls text and does not even tokenize is text.
fn fetched_torrent(url: &str, fetched: Fetched) -> Result<Metainfo, SessionError> {
    let content_type = fetched.content_type.as_deref().map(|value| {
        let essence = value.split(';').next().unwrap_or_default();
        essence.trim().to_ascii_lowercase()
    });
    let not_a_torrent = || SessionError::NotATorrent {
        url: url.to_owned(),
        content_type: content_type.clone(),
        start: excerpt(&fetched.body),
    };
    if fetched.body.first() != Some(&b'd') {
        return Err(not_a_torrent());
    }
    let error = match Metainfo::from_bytes(&fetched.body) {
        Ok(meta) => return Ok(meta),
        Err(error) => error,
    };
    let limits = LoadLimits::default().bencode;
    let is_bencode = match decode(
        &fetched.body,
        DecodeOptions {
            mode: Mode::Tolerant,
            limits,
        },
    ) {
        Ok(doc) => doc.root().span().end >= fetched.body.trim_ascii_end().len(),
        // A corrupt or cut torrent keeps its bencode error, unless the server called it text.
        Err(_) => !content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/")),
    };
    if !is_bencode {
        return Err(not_a_torrent());
    }
    Err(SessionError::InvalidFetched {
        url: url.to_owned(),
        source: error,
    })
}

/// The first few characters of `body`, printable and on one line.
fn excerpt(body: &[u8]) -> String {
    const CHARS: usize = 40;
    let text = String::from_utf8_lossy(&body[..body.len().min(4 * CHARS)]);
    let mut words = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty());
    let mut out = words.next().unwrap_or_default().to_owned();
    for word in words {
        out.push(' ');
        out.push_str(word);
    }
    match out.char_indices().nth(CHARS) {
        Some((cut, _)) => format!("{}...", &out[..cut]),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_user_types() {
        let path = |p: &str| Some(TorrentSource::Path(p.into()));
        let url = |u: &str| Some(TorrentSource::Url(u.into()));
        let parse = |text| TorrentSource::parse(text).ok();
        assert_eq!(parse("a.torrent"), path("a.torrent"));
        assert_eq!(parse("dir/a:b.torrent"), path("dir/a:b.torrent"));
        assert_eq!(parse("HTTPS://x/t"), url("HTTPS://x/t"));
        assert_eq!(parse("http://x/t"), url("http://x/t"));
        assert_eq!(parse("file:///tmp/a%20b.torrent"), path("/tmp/a b.torrent"));
        assert_eq!(
            parse("file://localhost/tmp/a.torrent"),
            path("/tmp/a.torrent")
        );
        let hash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
        let magnet = TorrentSource::parse(&format!("magnet:?xt=urn:btih:{hash}&dn=x"));
        assert!(matches!(magnet, Ok(TorrentSource::Magnet(m)) if m.info_hash.to_hex() == hash));
        let bad = TorrentSource::parse("magnet:?xt=urn:btih:00").unwrap_err();
        assert_eq!(bad.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
        for (text, says) in [
            ("udp://x:1/t", "only http and https"),
            ("file://elsewhere/a.torrent", "another host"),
        ] {
            let e = TorrentSource::parse(text).unwrap_err().to_string();
            assert!(e.contains(text) && e.contains(says), "{e}");
        }
    }
}
