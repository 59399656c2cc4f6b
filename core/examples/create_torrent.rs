//! `cargo run --release --example create_torrent -- PATH OUT [PIECE_LENGTH]`: the Rust API in
//! ten lines, also used by the creation benchmark.

use bittern_core::metainfo::{create, CreateOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, out, rest @ ..] = args.as_slice() else {
        return Err("usage: create_torrent PATH OUT [PIECE_LENGTH]".into());
    };
    let options = CreateOptions {
        trackers: vec![vec!["http://127.0.0.1:6969/announce".into()]],
        piece_length: rest.first().map(|p| p.parse()).transpose()?,
        ..Default::default()
    };
    let torrent = create(path, &options, |_| true)?;
    torrent.save(out)?;
    println!("{} {}", torrent.info_hash(), out);
    Ok(())
}
