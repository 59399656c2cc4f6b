//! bittern-core: the BitTorrent (BEP 3) engine behind bittern's C, Python and Rust faces.
//!
//! Modules mirror the protocol, each built on the ones before it:
//! - [`bencode`]: the wire format, a strict and a tolerant decoder with byte offsets, and the
//!   encoder;
//! - [`metainfo`]: the `.torrent` file (reading, validating, writing, creating);
//! - [`magnet`]: magnet links (BEP 9), parsed and written;
//! - [`tracker`]: announce and scrape, the HTTP client and server, the swarm registry;
//! - [`peer`]: the wire protocol's handshake, messages and their codec;
//! - [`extension`]: the extension protocol (BEP 10) and its extensions, metadata exchange
//!   (BEP 9) and peer exchange (BEP 11), as pure codecs and state;
//! - [`piece`]: piece and block layout, bitfields, the piece picker;
//! - [`storage`]: pieces in files on disk, verification, fast resume;
//! - [`session`]: the engine that runs torrents, and the one contract every face uses.
//!
//! Beside them: [`error`], the crate's one error type and its kinds; [`cancel`], how blocking
//! calls are stopped early; [`buffers`], the pool of read buffers shared by the codec and
//! storage; [`log`], the engine's diagnostics (`tracing` events, off by default, shown on
//! stderr by [`log::set_level`]).

pub mod bencode;
pub mod buffers;
pub mod cancel;
pub mod error;
pub mod extension;
/// The parallel pool hashing pieces, for torrent creation and for checking data on disk.
pub(crate) mod hashing;
pub mod log;
pub mod magnet;
pub mod metainfo;
pub mod peer;
pub mod piece;
pub mod session;
pub mod storage;
pub mod tracker;

pub use error::{Error, ErrorKind};
pub use magnet::Magnet;
pub use metainfo::{InfoHash, Metainfo};

/// The crate version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
