//! The user's preferences in `DATA/desktop.json` (no secrets): written
//! atomically; a damaged file gives the defaults and a warning, never a crash.

use super::views::Preferences;
use crate::AppError;
use crate::config::{DataDir, write_json_atomic};

/// The file's name in the data folder.
pub const PREFERENCES_FILE: &str = "desktop.json";

pub fn path(data: &DataDir) -> std::path::PathBuf {
    data.root().join(PREFERENCES_FILE)
}

/// The saved preferences, or the defaults (absent file). A damaged or
/// unreadable file gives the defaults and the warning to log.
pub fn load(data: &DataDir) -> (Preferences, Option<String>) {
    let path = path(data);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (Preferences::default(), None);
        }
        Err(e) => {
            return (
                Preferences::default(),
                Some(format!(
                    "cannot read {} ({e}); using the default preferences",
                    path.display()
                )),
            );
        }
    };
    match serde_json::from_slice::<Preferences>(&bytes) {
        Ok(prefs) => (prefs, None),
        Err(e) => (
            Preferences::default(),
            Some(format!(
                "{} is damaged ({e}); using the default preferences (saving them replaces the file)",
                path.display()
            )),
        ),
    }
}

/// Saves atomically (temp file, fsync, rename), creating the data folder.
pub fn save(data: &DataDir, prefs: &Preferences) -> Result<(), AppError> {
    data.ensure()?;
    write_json_atomic(&path(data), prefs, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desktop::views::{Language, Theme};

    #[test]
    fn round_trip_defaults_and_damage() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path().join("data"));
        assert_eq!(load(&data), (Preferences::default(), None));

        let prefs = Preferences {
            language: Language::En,
            theme: Theme::Dark,
            autostart: true,
            notifications: false,
            close_to_tray: false,
            wizard_done: true,
        };
        save(&data, &prefs).unwrap();
        assert_eq!(load(&data), (prefs.clone(), None));

        // A file from an older build lacks fields: they take their defaults.
        std::fs::write(path(&data), r#"{"language": "en"}"#).unwrap();
        let (old, warning) = load(&data);
        assert_eq!(warning, None);
        assert_eq!(old.language, Language::En);
        assert!(old.notifications && !old.wizard_done);

        std::fs::write(path(&data), "{broken").unwrap();
        let (damaged, warning) = load(&data);
        assert_eq!(damaged, Preferences::default());
        assert!(warning.unwrap().contains("damaged"));
        save(&data, &prefs).unwrap();
        assert_eq!(load(&data).0, prefs);
    }
}
