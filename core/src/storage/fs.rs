//! Opening things below the download folder without ever following a symbolic link.
//!
//! Every path is walked one component at a time from a descriptor of the download folder:
//! `openat(O_DIRECTORY | O_NOFOLLOW)` for each folder, `openat(O_NOFOLLOW)` for the file. A link
//! anywhere below the folder makes the walk fail (`ELOOP`/`ENOTDIR`), whatever it points to, and
//! there is no window between a check and an open for someone to swap a folder for a link.
//! At most two folder descriptors are open during a walk (the parent and the child).

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Why a walk or an open below the folder failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// The entry (or a folder above it) does not exist.
    Missing,
    /// The entry is a symbolic link.
    Symlink,
    /// A folder was expected and something else stands there.
    NotDirectory,
    /// A regular file was expected and something else stands there.
    NotFile,
    /// Any other error; `true` when it came from creating a folder.
    Io(io::Error, bool),
}

/// A failed walk: how many components of the path were involved, and why.
#[derive(Debug)]
pub(super) struct WalkError {
    pub depth: usize,
    pub failure: Failure,
}

/// What kind of entry a [`Stat`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// The parts of `stat` storage cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stat {
    pub kind: Kind,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
}

/// How to open a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    ReadOnly,
    /// Read and write, creating the file if it is missing.
    ReadWriteCreate,
    /// Write only, created or emptied (the resume file's temporary copy).
    WriteTruncate,
}

fn to_fd(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: a fresh descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

fn open_at(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    let flags = flags | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    loop {
        // SAFETY: `name` is NUL-terminated; the mode is only read with O_CREAT.
        let fd =
            unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, 0o666 as libc::c_uint) };
        match to_fd(fd) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

/// `fstatat` without following a link; `None` when the entry does not exist.
pub(super) fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<Stat>> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is written by a successful call before it is read.
    let r = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENOTDIR) => Ok(None),
            _ => Err(e),
        };
    }
    // SAFETY: filled by fstatat.
    let st = unsafe { st.assume_init() };
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => Kind::File,
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    let mtime_ns = (st.st_mtime as i64)
        .saturating_mul(1_000_000_000)
        .saturating_add(st.st_mtime_nsec as i64);
    Ok(Some(Stat {
        kind,
        size: st.st_size.max(0) as u64,
        mtime_ns,
    }))
}

/// Turns a failed open into a [`Failure`], looking at what stands there.
fn classify(dir: BorrowedFd<'_>, name: &CStr, e: io::Error, want: Kind) -> Failure {
    if e.raw_os_error() == Some(libc::ENOENT) {
        return Failure::Missing;
    }
    match stat_at(dir, name) {
        Ok(Some(st)) if st.kind == Kind::Symlink => Failure::Symlink,
        Ok(Some(st)) if st.kind != want => match want {
            Kind::Dir => Failure::NotDirectory,
            _ => Failure::NotFile,
        },
        Ok(None) => Failure::Missing,
        _ => Failure::Io(e, false),
    }
}

/// Opens the folder `name` inside `dir`, creating it if asked.
fn open_dir(dir: BorrowedFd<'_>, name: &CStr, create: bool) -> Result<OwnedFd, Failure> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY;
    match open_at(dir, name, flags) {
        Ok(fd) => Ok(fd),
        Err(e) if create && e.raw_os_error() == Some(libc::ENOENT) => {
            // SAFETY: `name` is NUL-terminated.
            if unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o777) } != 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EEXIST) {
                    return Err(Failure::Io(e, true));
                }
            }
            open_at(dir, name, flags).map_err(|e| classify(dir, name, e, Kind::Dir))
        }
        Err(e) => Err(classify(dir, name, e, Kind::Dir)),
    }
}

/// Walks the folders `dirs` below `root`, creating missing ones if asked. `None` is `root`
/// itself (no folders to walk).
pub(super) fn walk<S: AsRef<CStr>>(
    root: BorrowedFd<'_>,
    dirs: &[S],
    create: bool,
) -> Result<Option<OwnedFd>, WalkError> {
    let mut current: Option<OwnedFd> = None;
    for (i, name) in dirs.iter().enumerate() {
        let parent = current.as_ref().map_or(root, |d| d.as_fd());
        let next = open_dir(parent, name.as_ref(), create).map_err(|failure| WalkError {
            depth: i + 1,
            failure,
        })?;
        current = Some(next); // the parent closes here
    }
    Ok(current)
}

/// Opens the regular file `name` inside `dir` (never through a link, never a FIFO or device).
pub(super) fn open_file(dir: BorrowedFd<'_>, name: &CStr, mode: Mode) -> Result<File, Failure> {
    let flags = match mode {
        Mode::ReadOnly => libc::O_RDONLY,
        Mode::ReadWriteCreate => libc::O_RDWR | libc::O_CREAT,
        Mode::WriteTruncate => libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
    };
    // O_NONBLOCK: opening a FIFO that stands where a file should must not hang.
    let fd = open_at(dir, name, flags | libc::O_NONBLOCK)
        .map_err(|e| classify(dir, name, e, Kind::File))?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(|e| Failure::Io(e, false))?;
    if !meta.file_type().is_file() {
        return Err(Failure::NotFile);
    }
    // SAFETY: plain fcntl calls on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// Atomically renames `from` to `to`, both inside `dir`.
pub(super) fn rename_at(dir: BorrowedFd<'_>, from: &CStr, to: &CStr) -> io::Result<()> {
    // SAFETY: both names are NUL-terminated.
    let r = unsafe { libc::renameat(dir.as_raw_fd(), from.as_ptr(), dir.as_raw_fd(), to.as_ptr()) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Removes the file `name` inside `dir` (errors ignored: used to clean up).
pub(super) fn remove_at(dir: BorrowedFd<'_>, name: &CStr) {
    // SAFETY: `name` is NUL-terminated.
    unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) };
}

/// Flushes a folder's entries (after a rename).
pub(super) fn sync_dir(dir: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: a descriptor we borrow for the call.
    if unsafe { libc::fsync(dir.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Opens a folder given by the user (links in that path are the user's choice and followed).
pub(super) fn open_folder(path: &std::path::Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
}

/// Starts writing `len` bytes at `offset` of `file` to disk, without waiting (Linux's
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`; elsewhere nothing). Not a durability promise: a
/// later sync finds less left to do.
pub(super) fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (
            libc::off64_t::try_from(offset),
            libc::off64_t::try_from(len),
        ) else {
            return Ok(());
        };
        // SAFETY: a plain system call on a descriptor `file` keeps open.
        let r = unsafe {
            libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn walks_create_folders_and_refuse_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = open_folder(dir.path()).unwrap();
        let d = walk(root.as_fd(), &[c("a"), c("b")], true)
            .unwrap()
            .unwrap();
        let f = open_file(d.as_fd(), &c("f"), Mode::ReadWriteCreate).unwrap();
        drop(f);
        assert!(dir.path().join("a/b/f").is_file());

        std::os::unix::fs::symlink(outside.path(), dir.path().join("a/link")).unwrap();
        let e = walk(root.as_fd(), &[c("a"), c("link")], true).unwrap_err();
        assert_eq!(e.depth, 2);
        assert!(matches!(e.failure, Failure::Symlink), "{e:?}");

        std::os::unix::fs::symlink(outside.path().join("x"), dir.path().join("a/b/g")).unwrap();
        let d = walk(root.as_fd(), &[c("a"), c("b")], false)
            .unwrap()
            .unwrap();
        let e = open_file(d.as_fd(), &c("g"), Mode::ReadWriteCreate).unwrap_err();
        assert!(matches!(e, Failure::Symlink), "{e:?}");
        assert!(
            !outside.path().join("x").exists(),
            "a dangling link is not created through"
        );

        let e = walk(root.as_fd(), &[c("a"), c("b"), c("f")], true).unwrap_err();
        assert!(matches!(e.failure, Failure::NotDirectory), "{e:?}");
        let e = walk(root.as_fd(), &[c("nope")], false).unwrap_err();
        assert!(matches!(e.failure, Failure::Missing), "{e:?}");
        let e = open_file(root.as_fd(), &c("a"), Mode::ReadOnly).unwrap_err();
        assert!(matches!(e, Failure::NotFile), "{e:?}");
    }

    #[test]
    fn fifos_are_not_files_and_do_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let name = c("fifo");
        let path = CString::new(dir.path().join("fifo").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let root = open_folder(dir.path()).unwrap();
        let e = open_file(root.as_fd(), &name, Mode::ReadOnly).unwrap_err();
        assert!(matches!(e, Failure::NotFile), "{e:?}");
        let st = stat_at(root.as_fd(), &name).unwrap().unwrap();
        assert_eq!(st.kind, Kind::Other);
    }
}
