//! Where a torrent to add comes from: the one loader behind `bittern download`, Python's
//! `Session.add` and C's `bittern_torrent_load` / `_fetch` / `_from_bytes`.

use super::SessionError;
use crate::cancel::Cancel;
use crate::metainfo::Metainfo;
use crate::tracker::client::{blocking, ClientConfig};
use std::path::PathBuf;

/// The largest `.torrent` fetched over http(s), in bytes.
pub const MAX_FETCHED_TORRENT: usize = 16 << 20;

/// A `.torrent` file's place: a path, an http(s) URL, or its bytes at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TorrentSource {
    Path(PathBuf),
    Url(String),
    Bytes(Vec<u8>),
}

impl TorrentSource {
    /// What a user typed: an `http://` or `https://` URL (the scheme in any case), a `file:`
    /// URL of this host, or else a path. Other schemes, magnet links among them, are refused
    /// with [`SessionError::UnsupportedSource`].
    pub fn parse(text: &str) -> Result<TorrentSource, SessionError> {
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
            "magnet" => Err(unsupported(
                "magnet links are not supported yet: give a .torrent file or its URL",
            )),
            "file" => {
                let url =
                    reqwest::Url::parse(text).map_err(|_| unsupported("not a valid file URL"))?;
                if !matches!(url.host_str(), None | Some("") | Some("localhost")) {
                    return Err(unsupported("a file URL of another host"));
                }
                url.to_file_path()
                    .map(TorrentSource::Path)
                    .map_err(|_| unsupported("not a valid file URL"))
            }
            _ if rest.starts_with("//") => {
                Err(unsupported("only http and https URLs are supported"))
            }
            _ => Ok(TorrentSource::Path(text.into())),
        }
    }

    /// Reads, fetches (at most [`MAX_FETCHED_TORRENT`] bytes, with `client`'s deadlines) or
    /// parses the torrent. `cancel` is asked on this thread while a fetch waits.
    pub fn load(
        &self,
        client: &ClientConfig,
        cancel: Cancel<'_>,
    ) -> Result<Metainfo, crate::Error> {
        match self {
            TorrentSource::Path(path) => Ok(Metainfo::load(path)?),
            TorrentSource::Url(url) => {
                let bytes = blocking::fetch(client, url, MAX_FETCHED_TORRENT, cancel)?;
                Ok(Metainfo::from_bytes(&bytes)?)
            }
            TorrentSource::Bytes(bytes) => Ok(Metainfo::from_bytes(bytes)?),
        }
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
        for (text, says) in [
            ("magnet:?xt=urn:btih:00", "not supported"),
            ("udp://x:1/t", "only http and https"),
            ("file://elsewhere/a.torrent", "another host"),
        ] {
            let e = TorrentSource::parse(text).unwrap_err().to_string();
            assert!(e.contains(text) && e.contains(says), "{e}");
        }
    }
}
