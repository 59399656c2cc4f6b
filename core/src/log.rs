//! The engine's diagnostics: [`tracing`] events, off by default, switched on by [`set_level`].
//!
//! bittern-core reports what it does (a tracker starting, an announce and its answer) as
//! `tracing` events with targets under `bittern_core`. Nothing is printed until a face asks:
//! [`set_level`] installs, on its first call with a level, one process-wide subscriber that
//! writes a line per event to stderr, and later calls change its level or switch it off again,
//! any number of times, from any thread. It shows bittern's own events (targets starting with
//! `bittern` or `_bittern`) at the level asked for, and those of the libraries beneath (hyper's
//! connection chatter) only up to warnings. The faces expose it as `bittern_log_set_level` (C),
//! `bittern.set_log_level` (Python) and `bittern -v` / `-vv` (the CLI); they use this module's
//! own [`Level`], never `tracing`'s types.
//!
//! A Rust program that installs a `tracing` subscriber of its own receives bittern's events
//! there and has no need of this module; calling [`set_level`] with a level after that returns
//! [`LogError::SubscriberTaken`] (the process has one global subscriber, and it is not ours).

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{reload, Registry};

/// How much the engine tells: each level includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Failures only.
    Error,
    /// Failures, and what went wrong but was recovered from (a tracker that did not answer).
    Warn,
    /// Milestones: a tracker started or stopped.
    Info,
    /// What each step did: announces and their answers.
    Debug,
    /// Everything, per message.
    Trace,
}

impl Level {
    /// Every level, from the quietest.
    pub const ALL: [Level; 5] = [
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
        Level::Trace,
    ];

    /// The level's name, lower case: `"error"`, `"warn"`, `"info"`, `"debug"`, `"trace"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    /// A setting by name, as the faces take it: a level's name (any case), or `"off"` for
    /// `None`, which switches the diagnostics off.
    pub fn parse_setting(name: &str) -> Result<Option<Level>, LogError> {
        if name.eq_ignore_ascii_case("off") {
            Ok(None)
        } else {
            name.parse().map(Some)
        }
    }

    fn to_tracing(self) -> LevelFilter {
        match self {
            Level::Error => LevelFilter::ERROR,
            Level::Warn => LevelFilter::WARN,
            Level::Info => LevelFilter::INFO,
            Level::Debug => LevelFilter::DEBUG,
            Level::Trace => LevelFilter::TRACE,
        }
    }
}

/// What `level` shows: bittern's own targets at `level`, other crates' up to warnings; nothing
/// at all with `None`.
fn filter(level: Option<Level>) -> Targets {
    match level {
        None => Targets::new(),
        Some(level) => {
            let ours = level.to_tracing();
            Targets::new()
                .with_target("bittern", ours)
                .with_target("_bittern", ours)
                .with_default(ours.min(LevelFilter::WARN))
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `"error"`, `"warn"`, `"info"`, `"debug"` or `"trace"`, in any case.
impl FromStr for Level {
    type Err = LogError;

    fn from_str(name: &str) -> Result<Self, LogError> {
        Level::ALL
            .into_iter()
            .find(|level| name.eq_ignore_ascii_case(level.as_str()))
            .ok_or_else(|| LogError::UnknownLevel(name.to_owned()))
    }
}

/// Why the diagnostics could not be set as asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A name that is not a level.
    #[error("unknown log level {0:?} (expected off, error, warn, info, debug or trace)")]
    UnknownLevel(String),
    /// Something else already installed the process's global `tracing` subscriber: bittern's
    /// events go to it, and its own settings decide what is shown.
    #[error("another tracing subscriber is already installed for the process; bittern's diagnostics go to it")]
    SubscriberTaken,
    /// The installed subscriber's level could not be changed (it never is dropped, so this
    /// would be a bug).
    #[error("cannot change the level of bittern's diagnostics")]
    Reload(#[source] reload::Error),
}

/// The installed subscriber's filter and the level it was made from.
struct Installed {
    handle: reload::Handle<Targets, Registry>,
    level: Option<Level>,
}

/// `None` until the first [`set_level`] with a level installs the subscriber.
static INSTALLED: Mutex<Option<Installed>> = Mutex::new(None);

/// Shows the engine's diagnostics of `level` and above on stderr, or none with `None` (the
/// default).
///
/// The first call with a level installs one process-wide subscriber; every later call only
/// changes its level, so it can be switched on, changed and off again any number of times.
/// Setting what is already set does nothing. Safe to call from any thread; it never panics.
///
/// Errors: [`LogError::SubscriberTaken`] when a level is asked for but something else already
/// installed the global `tracing` subscriber (nothing changes then). `None` then succeeds and
/// does nothing: with no subscriber of ours installed, there is nothing to switch off.
pub fn set_level(level: Option<Level>) -> Result<(), LogError> {
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(installed) = installed.as_mut() {
        if installed.level != level {
            installed
                .handle
                .reload(filter(level))
                .map_err(LogError::Reload)?;
            installed.level = level;
        }
        return Ok(());
    }
    if level.is_none() {
        return Ok(());
    }
    let (filter, handle) = reload::Layer::new(filter(level));
    let subscriber = Registry::default().with(filter).with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false),
    );
    tracing::subscriber::set_global_default(subscriber).map_err(|_| LogError::SubscriberTaken)?;
    *installed = Some(Installed { handle, level });
    Ok(())
}

/// The level set by [`set_level`]: `None` when the diagnostics are off (or were never
/// switched on).
pub fn level() -> Option<Level> {
    let installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    installed.as_ref()?.level
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>().unwrap(), level);
            assert_eq!(
                level.to_string().to_uppercase().parse::<Level>().unwrap(),
                level
            );
        }
        assert_eq!(Level::parse_setting("OFF").unwrap(), None);
        assert_eq!(Level::parse_setting("debug").unwrap(), Some(Level::Debug));
        assert!(matches!(
            "verbose".parse::<Level>(),
            Err(LogError::UnknownLevel(name)) if name == "verbose"
        ));
        assert!(Level::parse_setting("").is_err());
        assert!(Level::Error < Level::Trace);
    }

    /// The one test that installs the global subscriber (tests in this binary share it).
    #[test]
    fn on_off_and_on_again() {
        assert_eq!(level(), None);
        set_level(None).unwrap();
        assert_eq!(level(), None);
        set_level(Some(Level::Debug)).unwrap();
        assert_eq!(level(), Some(Level::Debug));
        assert!(tracing::enabled!(tracing::Level::DEBUG));
        assert!(!tracing::enabled!(tracing::Level::TRACE));
        assert!(tracing::enabled!(target: "hyper_util::client", tracing::Level::WARN));
        assert!(!tracing::enabled!(target: "hyper_util::client", tracing::Level::INFO));
        set_level(Some(Level::Debug)).unwrap();
        set_level(Some(Level::Trace)).unwrap();
        assert!(tracing::enabled!(tracing::Level::TRACE));
        set_level(None).unwrap();
        assert_eq!(level(), None);
        assert!(!tracing::enabled!(tracing::Level::ERROR));
        let threads: Vec<_> = Level::ALL
            .into_iter()
            .map(|level| std::thread::spawn(move || set_level(Some(level))))
            .collect();
        for thread in threads {
            thread.join().unwrap().unwrap();
        }
        assert!(level().is_some());
        set_level(None).unwrap();
        assert_eq!(level(), None);
    }
}
