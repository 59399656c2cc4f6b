//! `log::set_level` in a process whose global `tracing` subscriber is someone else's: it
//! reports that, changes nothing and never panics. (Its own test binary: the global subscriber
//! is set once per process.)

use bittern_core::log::{self, Level, LogError};
use bittern_core::ErrorKind;

#[test]
fn another_subscriber_is_reported_not_replaced() {
    let theirs = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::set_global_default(theirs).unwrap();
    assert!(matches!(
        log::set_level(Some(Level::Debug)),
        Err(LogError::SubscriberTaken)
    ));
    let error = bittern_core::Error::from(log::set_level(Some(Level::Info)).unwrap_err());
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    log::set_level(None).unwrap();
    assert_eq!(log::level(), None);
}
