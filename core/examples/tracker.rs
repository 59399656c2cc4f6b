//! `cargo run --release --example tracker -- [BIND [THREADS]]`: a tracker on BIND (default
//! 127.0.0.1:6969) until standard input closes, printing its log.

use bittern_core::tracker::server::{ServerConfig, TrackerServer};
use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6969".into());
    let threads = std::env::args().nth(2).map_or(Ok(0), |t| t.parse())?;
    let server = TrackerServer::start(ServerConfig {
        bind: bind.parse()?,
        threads,
        ..Default::default()
    })?;
    println!("{}", server.url());
    let tracker = server.tracker().clone();
    std::thread::spawn(move || loop {
        for line in tracker.take_log() {
            eprintln!("{line}");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    });
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop();
    Ok(())
}
