//! The desktop app's log file: one file a day (`PREFIX.YYYY-MM-DD.log`, UTC
//! dates), the last few kept, each created owner-only (0600) whatever the
//! umask — a log names leads, contacts and the account. The folder it
//! creates is 0700; an existing file others could read is narrowed to 0600.
//!
//! A [`tracing_subscriber::fmt::MakeWriter`]: every record is appended
//! (blocking, no background thread: no line is lost when the process ends
//! without unwinding), and the first record of a new day opens the new file
//! and prunes the oldest.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use tracing_subscriber::fmt::MakeWriter;

/// A daily log file in one folder.
#[derive(Debug)]
pub struct DailyLog {
    dir: PathBuf,
    prefix: String,
    keep: usize,
    current: Mutex<Option<(String, File)>>,
}

/// Writes one record to a [`DailyLog`].
#[derive(Debug)]
pub struct DailyLogWriter<'a> {
    log: &'a DailyLog,
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

impl DailyLog {
    /// Opens today's file in `dir` (created 0700 when absent), keeping the
    /// newest `keep` files (at least one).
    pub fn open(dir: &Path, prefix: &str, keep: usize) -> io::Result<DailyLog> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
        let log = DailyLog {
            dir: dir.to_path_buf(),
            prefix: prefix.to_owned(),
            keep: keep.max(1),
            current: Mutex::new(None),
        };
        log.switch_to(&mut log.lock(), &today())?;
        Ok(log)
    }

    /// The file of `date` (`YYYY-MM-DD`).
    pub fn path_of(&self, date: &str) -> PathBuf {
        self.dir.join(format!("{}.{date}.log", self.prefix))
    }

    fn lock(&self) -> MutexGuard<'_, Option<(String, File)>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `bytes` to the file of `date`, switching files (and pruning)
    /// when the date is not the current file's.
    pub fn append_on(&self, date: &str, bytes: &[u8]) -> io::Result<()> {
        let mut current = self.lock();
        if current.as_ref().is_none_or(|(d, _)| d != date) {
            self.switch_to(&mut current, date)?;
        }
        match current.as_mut() {
            Some((_, file)) => file.write_all(bytes),
            None => Err(io::Error::other("no log file is open")),
        }
    }

    fn switch_to(&self, current: &mut Option<(String, File)>, date: &str) -> io::Result<()> {
        let file = open_private(&self.path_of(date))?;
        *current = Some((date.to_owned(), file));
        self.prune();
        Ok(())
    }

    /// Deletes all but the newest `keep` files of this log (best effort).
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut ours: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| self.is_ours(p))
            .collect();
        ours.sort();
        let excess = ours.len().saturating_sub(self.keep);
        for old in &ours[..excess] {
            let _ = std::fs::remove_file(old);
        }
        // Files an older build wrote with the umask's mode, and a folder it
        // made looser, become the owner's alone too.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let narrow = |path: &Path, mode: u32| {
                if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
                    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
                }
            };
            for kept in &ours[excess..] {
                narrow(kept, 0o600);
            }
            narrow(&self.dir, 0o700);
        }
    }

    /// `PREFIX.YYYY-MM-DD.log`.
    fn is_ours(&self, path: &Path) -> bool {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        name.strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|rest| rest.strip_suffix(".log"))
            .is_some_and(|date| {
                date.len() == 10
                    && date.bytes().enumerate().all(|(i, b)| {
                        if i == 4 || i == 7 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    })
            })
    }
}

/// Opens `path` for appending, created 0600; a looser existing file is narrowed.
fn open_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.metadata()?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

impl Write for DailyLogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.log.append_on(&today(), buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for DailyLog {
    type Writer = DailyLogWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        DailyLogWriter { log: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn files_are_owner_only_one_a_day_and_the_oldest_pruned() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("logs");
        let log = DailyLog::open(&dir, "amosync-desktop", 3).expect("open");
        let mut w = log.make_writer();
        w.write_all("запись сегодня\n".as_bytes()).expect("write");
        let today_file = log.path_of(&today());
        assert_eq!(
            std::fs::read_to_string(&today_file).expect("read"),
            "запись сегодня\n"
        );
        std::fs::write(dir.join("other.txt"), "not ours").expect("write");
        for day in 1..=5 {
            let date = format!("2099-01-0{day}");
            log.append_on(&date, format!("day {day}\n").as_bytes())
                .expect("append");
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "amosync-desktop.2099-01-03.log",
                "amosync-desktop.2099-01-04.log",
                "amosync-desktop.2099-01-05.log",
                "other.txt"
            ],
            "the newest three kept, other files untouched"
        );
        #[cfg(unix)]
        {
            assert_eq!(mode(&dir), 0o700, "the folder it created");
            for day in 3..=5 {
                assert_eq!(mode(&log.path_of(&format!("2099-01-0{day}"))), 0o600);
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_readable_file_of_an_older_build_is_narrowed() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = DailyLog::open(tmp.path(), "amosync-desktop", 7).expect("open");
        let old = log.path_of("2099-02-01");
        std::fs::write(&old, "old\n").expect("write");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        log.append_on("2099-02-01", b"new\n").expect("append");
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read_to_string(&old).expect("read"), "old\nnew\n");
    }

    #[test]
    fn kept_files_of_other_days_and_a_loose_folder_are_narrowed_at_open() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("logs");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let older = dir.join("amosync-desktop.2000-01-01.log");
        std::fs::write(&older, "old\n").expect("write");
        std::fs::set_permissions(&older, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let _log = DailyLog::open(&dir, "amosync-desktop", 7).expect("open");
        assert_eq!(mode(&older), 0o600, "an older day's file");
        assert_eq!(mode(&dir), 0o700, "the folder");
    }
}
