//! The shared vectors in tests/vectors, also read by the C and Python suites.

use bittern_core::bencode::{decode, DecodeOptions, Mode};
use bittern_core::{Error, ErrorKind, Metainfo};
use std::path::PathBuf;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn lines(file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(vectors().join(file)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn bencode_vectors() {
    let cases = lines("bencode.txt");
    assert!(cases.len() > 30);
    for case in cases {
        let (name, input) = (&case[0], unhex(&case[1]));
        for (mode, expected) in [(Mode::Strict, &case[2]), (Mode::Tolerant, &case[3])] {
            let result = decode(
                input.as_slice(),
                DecodeOptions {
                    mode,
                    ..Default::default()
                },
            );
            let got = match &result {
                Ok(_) if mode == Mode::Strict => "ok".to_owned(),
                Ok(doc) => format!("ok:{}", doc.warnings().len()),
                Err(e) => format!("err:{}", e.offset),
            };
            assert_eq!(&got, expected, "{name} in {mode:?}: {result:?}");
        }
    }
}

#[test]
fn torrent_vectors() {
    let cases = lines("torrents.txt");
    assert!(cases.len() > 30);
    for case in cases {
        let path = vectors().join("torrents").join(&case[0]);
        let result = Metainfo::load(&path);
        match case[1].as_str() {
            "ok" => {
                let t = result.unwrap_or_else(|e| panic!("{}: {e}", case[0]));
                let info = t.info();
                let got = [
                    t.info_hash().to_hex(),
                    info.piece_length().to_string(),
                    info.piece_count().to_string(),
                    info.total_length().to_string(),
                    info.files().len().to_string(),
                    (info.is_private() as u8).to_string(),
                    t.warnings().len().to_string(),
                    info.name_bytes()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect(),
                ];
                assert_eq!(got.as_slice(), &case[2..], "{}", case[0]);
                // Unedited, it saves back byte for byte.
                assert_eq!(
                    t.as_bytes(),
                    std::fs::read(&path).unwrap().as_slice(),
                    "{}",
                    case[0]
                );
            }
            "err" => {
                let e = Error::from(result.err().unwrap_or_else(|| panic!("{} loaded", case[0])));
                let kind = match e.kind() {
                    ErrorKind::Bencode => "bencode",
                    ErrorKind::Metainfo => "metainfo",
                    other => panic!("{}: unexpected kind {other:?}", case[0]),
                };
                assert_eq!(kind, case[2], "{}: {e}", case[0]);
            }
            other => panic!("bad vector line {other}"),
        }
    }
}
