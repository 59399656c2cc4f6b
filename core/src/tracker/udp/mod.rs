//! BEP 15's UDP tracker protocol beside the HTTP one: the packet codec ([`wire`]), the client
//! and the server, sharing the HTTP side's announce types and swarm registry.

pub mod batch;
pub mod client;
pub mod server;
pub mod wire;

pub use wire::{AnnouncePacket, PacketError, Request, Response, MAX_PACKET, MAX_SCRAPE_HASHES};
