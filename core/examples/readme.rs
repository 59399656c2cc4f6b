//! The README's Rust example, compiled with the other examples so that it stays true. It is
//! never run (it fetches from tracker.example); `tests/readme.rs` checks that the README shows
//! exactly the lines between the markers.

#[rustfmt::skip]
fn example() -> Result<(), Box<dyn std::error::Error>> {
// README begins
use bittern_core::metainfo::{create, CreateOptions};
use bittern_core::Metainfo;

let options = CreateOptions {
    trackers: vec![vec!["http://tracker.example/announce".into()]],
    ..Default::default()
};
let torrent = create("album", &options, |p| { println!("{}/{}", p.bytes_done, p.bytes_total); true })?;
torrent.save("album.torrent")?;

let loaded = Metainfo::load("album.torrent")?;
println!("{} {}", loaded.info().name(), loaded.info_hash());
let link = loaded.magnet().to_string(); // magnet:?xt=urn:btih:...&dn=album&tr=...
assert_eq!(bittern_core::Magnet::parse(&link)?.info_hash, loaded.info_hash());

use bittern_core::cancel::Cancel;
use bittern_core::session::{AddOptions, Session, SessionConfig, TorrentSource};
let session = Session::new(SessionConfig::default())?; // checks the config (validate())
// A path, an http(s) URL or bytes: the one loader the CLI, Python and C use too.
let fetched = TorrentSource::parse("https://tracker.example/torrents/album.torrent")?
    .load(&Default::default(), Cancel::NEVER)?;
let options = AddOptions { save_dir: "downloads".into(), ..Default::default() };
let handle = session.add(fetched, options)?; // returns at once; the data is checked first
handle.wait_checked(std::time::Duration::from_secs(600)); // State::Checking, pieces_checked
handle.wait_finished(std::time::Duration::from_secs(3600));
println!("{:?}", handle.status().disconnects); // why peers left, by DisconnectReason
session.remove(&handle)?; // a second remove, or one from another session, is an error
// A magnet link: its metadata is asked of peers first (State::FetchingMetadata, then
// EventKind::MetadataReceived), checked against the link's info-hash, then it downloads.
let by_link = session.add_magnet(loaded.magnet(), AddOptions { save_dir: "by-magnet".into(), ..Default::default() })?;
by_link.wait_finished(std::time::Duration::from_secs(3600));
by_link.metainfo().map(|fetched| fetched.save("fetched.torrent"));

use bittern_core::tracker::server::{ServerConfig, TrackerServer};
let server = TrackerServer::start(ServerConfig { bind: "127.0.0.1:0".parse()?, ..Default::default() })?;
println!("{} {:?}", server.url(), server.tracker().stats());
server.stop();
// README ends
    Ok(())
}

fn main() {
    // Compiled, not run: running it would fetch from tracker.example.
    let _ = example;
}
