//! Reading a torrent's fields out of its tolerant token list, with every check on the way.

use super::{FileEntry, Info, InfoHash, LoadLimits, Metainfo, MetainfoError, Warning};
use crate::bencode::{decode, DecodeOptions, Kind, Mode, Node};
use rustc_hash::FxHashSet;

type Result<T> = std::result::Result<T, MetainfoError>;

pub(super) fn parse(raw: Vec<u8>, limits: &LoadLimits) -> Result<Metainfo> {
    let doc = decode(
        raw.as_slice(),
        DecodeOptions {
            mode: Mode::Tolerant,
            limits: limits.bencode,
        },
    )?;
    let mut warnings: Vec<Warning> = doc
        .warnings()
        .iter()
        .map(|w| Warning {
            offset: Some(w.offset),
            message: w.message().to_owned(),
        })
        .collect();
    let entries = doc
        .root()
        .as_dict()
        .ok_or_else(|| MetainfoError::invalid("torrent", "not a dictionary"))?;

    let mut info_node = None;
    let mut outer = Vec::new();
    let mut fields = Outer::default();
    for (key, value) in entries {
        if key == b"info" {
            info_node = Some(value);
        } else {
            outer.push((key.to_vec(), value.raw().to_vec()));
            fields.read(key, value, &mut warnings);
        }
    }
    let info_node = info_node.ok_or_else(|| MetainfoError::invalid("info", "missing"))?;
    let info = parse_info(info_node, limits)?;
    let info_span = info_node.span();
    let info_hash = InfoHash::of_info_bytes(info_node.raw());
    drop(doc);

    Ok(Metainfo {
        raw,
        info_span,
        outer,
        info_hash,
        info,
        announce: fields.announce,
        announce_list: fields.announce_list,
        comment: fields.comment,
        created_by: fields.created_by,
        creation_date: fields.creation_date,
        url_list: fields.url_list,
        warnings,
    })
}

/// The optional top-level fields. A malformed one is ignored with a warning: it does not make
/// the torrent unusable, and real torrents carry such mistakes.
#[derive(Default)]
struct Outer {
    announce: Option<String>,
    announce_list: Vec<Vec<String>>,
    comment: Option<String>,
    created_by: Option<String>,
    creation_date: Option<i64>,
    url_list: Vec<String>,
}

impl Outer {
    fn read(&mut self, key: &[u8], value: Node<'_>, warnings: &mut Vec<Warning>) {
        let mut ignored = |what: &str| {
            warnings.push(Warning {
                offset: Some(value.span().start),
                message: format!("'{}' ignored: {what}", String::from_utf8_lossy(key)),
            })
        };
        match key {
            b"announce" => match text(value) {
                Some(url) => self.announce = (!url.is_empty()).then_some(url),
                None => ignored("not a string"),
            },
            b"announce-list" => match tiers(value) {
                Some(tiers) => self.announce_list = tiers,
                None => ignored("not a list of lists of strings"),
            },
            b"comment" => match text(value) {
                Some(c) => self.comment = Some(c),
                None => ignored("not a string"),
            },
            b"created by" => match text(value) {
                Some(c) => self.created_by = Some(c),
                None => ignored("not a string"),
            },
            b"creation date" => match value.as_int() {
                Some(d) => self.creation_date = Some(d),
                None => ignored("not an integer"),
            },
            b"url-list" => match value.as_list() {
                Some(items) => match items.map(text).collect::<Option<Vec<_>>>() {
                    Some(urls) => {
                        self.url_list = urls.into_iter().filter(|u| !u.is_empty()).collect()
                    }
                    None => ignored("not a list of strings"),
                },
                None => match text(value) {
                    Some(url) => self.url_list = if url.is_empty() { vec![] } else { vec![url] },
                    None => ignored("not a string or a list of strings"),
                },
            },
            _ => {}
        }
    }
}

fn text(node: Node<'_>) -> Option<String> {
    node.as_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// BEP 12 tiers; empty URLs and empty tiers are dropped.
fn tiers(node: Node<'_>) -> Option<Vec<Vec<String>>> {
    let mut tiers = Vec::new();
    for tier in node.as_list()? {
        let urls: Vec<String> = tier.as_list()?.map(text).collect::<Option<Vec<_>>>()?;
        let urls: Vec<String> = urls.into_iter().filter(|u| !u.is_empty()).collect();
        if !urls.is_empty() {
            tiers.push(urls);
        }
    }
    Some(tiers)
}

fn required<'d>(dict: Node<'d>, key: &str, field: &str) -> Result<Node<'d>> {
    dict.get(key.as_bytes())
        .ok_or_else(|| MetainfoError::invalid(field, "missing"))
}

fn int(node: Node<'_>, field: &str) -> Result<i64> {
    node.as_int()
        .ok_or_else(|| MetainfoError::invalid(field, "not an integer"))
}

fn bytes<'d>(node: Node<'d>, field: &str) -> Result<&'d [u8]> {
    node.as_bytes()
        .ok_or_else(|| MetainfoError::invalid(field, "not a string"))
}

fn length(node: Node<'_>, field: &str) -> Result<u64> {
    u64::try_from(int(node, field)?).map_err(|_| MetainfoError::invalid(field, "negative"))
}

fn parse_info(node: Node<'_>, limits: &LoadLimits) -> Result<Info> {
    if node.kind() != Kind::Dict {
        return Err(MetainfoError::invalid("info", "not a dictionary"));
    }
    let name = bytes(required(node, "name", "info.name")?, "info.name")?;
    check_component(name, || "info.name".into())?;
    check_path_len(name, limits, || "info.name".into())?;

    let piece_length = int(
        required(node, "piece length", "info.piece length")?,
        "info.piece length",
    )?;
    if piece_length <= 0 {
        return Err(MetainfoError::invalid(
            "info.piece length",
            format!("{piece_length} is not positive"),
        ));
    }
    let piece_length = piece_length as u64;
    if piece_length > limits.max_piece_length {
        return Err(MetainfoError::invalid(
            "info.piece length",
            format!(
                "{piece_length} is larger than the limit of {}",
                limits.max_piece_length
            ),
        ));
    }

    let pieces = bytes(required(node, "pieces", "info.pieces")?, "info.pieces")?;
    if pieces.len() % 20 != 0 {
        return Err(MetainfoError::invalid(
            "info.pieces",
            format!("{} bytes is not a multiple of 20", pieces.len()),
        ));
    }
    let private = node.get(b"private").and_then(|p| p.as_int()) == Some(1);

    let (files, multi_file) = match (node.get(b"length"), node.get(b"files")) {
        (Some(_), Some(_)) => {
            return Err(MetainfoError::invalid(
                "info",
                "has both 'length' and 'files' (exactly one is allowed)",
            ))
        }
        (None, None) => {
            return Err(MetainfoError::invalid(
                "info",
                "has neither 'length' nor 'files'",
            ))
        }
        (Some(len), None) => {
            let length = length(len, "info.length")?;
            let attr = node.get(b"attr").and_then(|a| a.as_bytes()).map(Box::from);
            (
                vec![FileEntry {
                    path: name.into(),
                    length,
                    offset: 0,
                    attr,
                }],
                false,
            )
        }
        (None, Some(list)) => (parse_files(list, name, limits)?, true),
    };

    let total_length = match files.last() {
        Some(last) => last.offset.checked_add(last.length).ok_or_else(|| {
            MetainfoError::invalid("info.files", "total length overflows 64 bits")
        })?,
        None => 0,
    };
    if total_length == 0 {
        return Err(MetainfoError::invalid(
            "info",
            "the torrent holds no data (total length is 0)",
        ));
    }
    let expected = total_length.div_ceil(piece_length);
    if expected > limits.max_pieces {
        return Err(MetainfoError::invalid(
            "info.pieces",
            format!(
                "{expected} pieces is more than the limit of {}",
                limits.max_pieces
            ),
        ));
    }
    if pieces.len() as u64 / 20 != expected {
        return Err(MetainfoError::invalid(
            "info.pieces",
            format!(
                "{} hashes, expected {expected} for {total_length} bytes in pieces of {piece_length}",
                pieces.len() / 20
            ),
        ));
    }
    Ok(Info {
        name: name.to_vec(),
        piece_length,
        pieces: pieces.to_vec(),
        files,
        multi_file,
        private,
        total_length,
    })
}

fn parse_files(list: Node<'_>, name: &[u8], limits: &LoadLimits) -> Result<Vec<FileEntry>> {
    let items = list
        .as_list()
        .ok_or_else(|| MetainfoError::invalid("info.files", "not a list"))?;
    let mut files = Vec::new();
    let mut offset = 0u64;
    let mut joined = Vec::new();
    for (i, file) in items.enumerate() {
        if files.len() >= limits.max_files {
            return Err(MetainfoError::invalid(
                "info.files",
                format!("more than the limit of {} files", limits.max_files),
            ));
        }
        // Field names are only formatted for an error: this loop may run a million times.
        let field = |what: &str| format!("info.files[{i}].{what}");
        let entry = |what: &str, reason: &str| MetainfoError::invalid(field(what), reason);
        if file.kind() != Kind::Dict {
            return Err(MetainfoError::invalid(
                format!("info.files[{i}]"),
                "not a dictionary",
            ));
        }
        let (mut length, mut components, mut attr) = (None, None, None);
        for (key, value) in file.as_dict().into_iter().flatten() {
            match key {
                b"length" => length = Some(value),
                b"path" => components = Some(value),
                b"attr" => attr = value.as_bytes(),
                _ => {}
            }
        }
        let length = length.ok_or_else(|| entry("length", "missing"))?;
        let length = match length.as_int() {
            Some(n) => u64::try_from(n).map_err(|_| entry("length", "negative"))?,
            None => return Err(entry("length", "not an integer")),
        };
        let components = components.ok_or_else(|| entry("path", "missing"))?;
        let components = components
            .as_list()
            .ok_or_else(|| entry("path", "not a list"))?;
        // One allocation a file: the components joined with '/', which none of them may hold.
        joined.clear();
        joined.extend_from_slice(name);
        for (j, component) in components.enumerate() {
            let component = component
                .as_bytes()
                .ok_or_else(|| entry(&format!("path[{j}]"), "not a string"))?;
            check_component(component, || field(&format!("path[{j}]")))?;
            joined.push(b'/');
            joined.extend_from_slice(component);
        }
        if joined.len() == name.len() {
            return Err(entry("path", "empty"));
        }
        check_path_len(&joined, limits, || field("path"))?;
        files.push(FileEntry {
            path: joined.as_slice().into(),
            length,
            offset,
            attr: attr.map(Box::from),
        });
        offset = offset.checked_add(length).ok_or_else(|| {
            MetainfoError::invalid("info.files", "total length overflows 64 bits")
        })?;
    }
    if files.is_empty() {
        return Err(MetainfoError::invalid("info.files", "empty"));
    }
    check_unique_paths(&files, name.len() + 1)?;
    Ok(files)
}

fn check_path_len(path: &[u8], limits: &LoadLimits, field: impl Fn() -> String) -> Result<()> {
    if path.len() > limits.max_path_len {
        return Err(MetainfoError::invalid(
            field(),
            format!(
                "a path of {} bytes is longer than the limit of {}",
                path.len(),
                limits.max_path_len
            ),
        ));
    }
    Ok(())
}

/// A path component must name one entry inside its folder: nothing that could climb out of the
/// download folder or be read differently by another filesystem.
fn check_component(c: &[u8], field: impl Fn() -> String) -> Result<()> {
    let problem = if c.is_empty() {
        Some("empty".to_owned())
    } else if c == b"." || c == b".." {
        Some(format!("'{}' is not allowed", String::from_utf8_lossy(c)))
    } else {
        c.iter().find_map(|&b| match b {
            b'/' => Some("contains '/'".to_owned()),
            b'\\' => Some("contains '\\'".to_owned()),
            0 => Some("contains a NUL byte".to_owned()),
            b if b < 0x20 || b == 0x7f => Some(format!("contains the control character {b:#04x}")),
            _ => None,
        })
    };
    match problem {
        Some(reason) => Err(MetainfoError::invalid(field(), reason)),
        None => Ok(()),
    }
}

/// No two files may share a path, and no file may stand where another needs a folder.
/// `skip` is the length of the `name/` prefix all paths share.
fn check_unique_paths(files: &[FileEntry], skip: usize) -> Result<()> {
    let mut paths = FxHashSet::with_capacity_and_hasher(files.len(), Default::default());
    for (i, f) in files.iter().enumerate() {
        if !paths.insert(&f.path[skip..]) {
            return Err(MetainfoError::invalid(
                format!("info.files[{i}].path"),
                "same path as an earlier file",
            ));
        }
    }
    for (i, f) in files.iter().enumerate() {
        let path = &f.path[skip..];
        for (p, _) in path.iter().enumerate().filter(|(_, &b)| b == b'/') {
            if paths.contains(&path[..p]) {
                return Err(MetainfoError::invalid(
                    format!("info.files[{i}].path"),
                    format!(
                        "needs '{}' to be a folder, but a file has that path",
                        String::from_utf8_lossy(&path[..p])
                    ),
                ));
            }
        }
    }
    Ok(())
}
