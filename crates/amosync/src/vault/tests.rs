//! End-to-end checks of [`open_vault`] with a real environment. Each test
//! runs this test binary again as a child process with its own environment
//! (so no test changes this process's variables and none can race another);
//! the Secret Service test runs the child inside a private D-Bus session with
//! a real gnome-keyring daemon and a throw-away HOME.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use amo::Secret;

use super::*;
use crate::ErrorCode;

/// Set in children only: the child tests below do nothing without it.
const CHILD: &str = "AMOSYNC_VAULT_TEST_CHILD";
const DATA: &str = "AMOSYNC_VAULT_TEST_DATA";
const EXPECT: &str = "AMOSYNC_VAULT_TEST_EXPECT";
/// Printed by a child that reached its end.
const DONE: &str = "vault-child-done";
const VALUE: &str = r#"{"token":"tok-e2e-secret-31337","webhook_secret":"whs-e2e-secret"}"#;

fn child(name: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        &format!("vault::tests::{name}"),
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    with_child_env(&mut cmd);
    cmd
}

fn with_child_env(cmd: &mut Command) {
    cmd.env(CHILD, "1")
        .env_remove(select::VAULT_ENV)
        .env_remove(KEY_FILE_ENV)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null());
}

/// Runs `cmd` for at most `within`: whether it succeeded, and its output.
fn run(mut cmd: Command, within: Duration) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    cmd.stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(dir.path().join("err")).unwrap());
    let mut process = cmd.spawn().expect("start the child");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = process.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > within {
            let _ = process.kill();
            let _ = process.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = format!(
        "{}{}",
        std::fs::read_to_string(&out).unwrap_or_default(),
        std::fs::read_to_string(dir.path().join("err")).unwrap_or_default()
    );
    match status {
        Some(status) => (status.success() && text.contains(DONE), text),
        None => (false, format!("timed out after {within:?}\n{text}")),
    }
}

fn is_child() -> bool {
    let child = std::env::var_os(CHILD).is_some();
    if !child {
        println!("a helper of another test: it runs only as that test's child");
    }
    child
}

fn child_data() -> DataDir {
    DataDir::new(std::env::var_os(DATA).expect("data folder"))
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

// ---- open_vault from the environment, without any keychain ----

#[test]
#[ignore = "runs as a child of the open_vault_* tests"]
fn child_open_vault_from_env() {
    if !is_child() {
        return;
    }
    let data = child_data();
    let started = Instant::now();
    let opened = open_vault(&data);
    match std::env::var(EXPECT).unwrap().as_str() {
        "error" => {
            let err = opened.unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            println!("error: {}", err.message);
        }
        "encrypted_file" => {
            let vault = opened.unwrap();
            assert_eq!(vault.location().backend, VaultBackend::EncryptedFile);
            assert!(started.elapsed() < Duration::from_secs(2), "fails fast");
            vault.save(&Secret::from(VALUE)).unwrap();
            assert_eq!(vault.load().unwrap().unwrap().expose(), VALUE);
            assert!(data.root().join("secrets.enc").exists());
        }
        "keychain_unreachable" => {
            let vault = opened.unwrap();
            assert_eq!(vault.location().backend, VaultBackend::Keychain);
            let err = vault.load().unwrap_err();
            assert!(
                err.message.contains("AMOSYNC_VAULT=file"),
                "{}",
                err.message
            );
            assert!(started.elapsed() < Duration::from_secs(2), "fails fast");
            assert!(
                !data.root().join("secrets.enc").exists(),
                "no silent switch"
            );
        }
        other => panic!("unknown expectation {other}"),
    }
    println!("{DONE}");
}

struct EnvCase {
    _tmp: tempfile::TempDir,
    data: std::path::PathBuf,
    key: std::path::PathBuf,
    cmd: Command,
}

fn env_case(expect: &str) -> EnvCase {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let key = tmp.path().join("config").join("vault.key");
    let mut cmd = child("child_open_vault_from_env");
    cmd.env(DATA, &data)
        .env(KEY_FILE_ENV, &key)
        .env(EXPECT, expect);
    EnvCase {
        _tmp: tmp,
        data,
        key,
        cmd,
    }
}

fn assert_child(cmd: Command) -> String {
    let (ok, output) = run(cmd, Duration::from_secs(60));
    assert!(ok, "child failed:\n{output}");
    output
}

#[test]
fn open_vault_without_a_session_bus_falls_back_to_the_encrypted_file() {
    let case = env_case("encrypted_file");
    assert_child(case.cmd);
    assert!(case.key.exists(), "the key went to AMOSYNC_KEY_FILE");
    assert!(!case.key.starts_with(&case.data));
}

#[cfg(target_os = "linux")]
#[test]
fn open_vault_keeps_the_key_in_the_config_dir_by_default() {
    let mut case = env_case("encrypted_file");
    let config = case._tmp.path().join("xdg-config");
    case.cmd
        .env_remove(KEY_FILE_ENV)
        .env("XDG_CONFIG_HOME", &config);
    assert_child(case.cmd);
    assert!(!case.key.exists());
    let key = config.join("amosync").join("vault.key");
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
}

#[test]
fn open_vault_honours_amosync_vault_file() {
    let mut case = env_case("encrypted_file");
    case.cmd
        .env(select::VAULT_ENV, "file")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    assert_child(case.cmd);
    assert!(case.data.join("secrets.enc").exists());
}

#[test]
fn open_vault_honours_amosync_vault_keychain_and_fails_clearly_without_one() {
    let mut case = env_case("keychain_unreachable");
    case.cmd.env(select::VAULT_ENV, "keychain");
    assert_child(case.cmd);
}

#[test]
fn open_vault_keeps_the_keychain_a_marker_names_even_when_it_is_away() {
    let mut case = env_case("keychain_unreachable");
    std::fs::create_dir_all(&case.data).unwrap();
    std::fs::write(
        case.data.join("vault.json"),
        r#"{"version":1,"backend":"keychain","service":"amosync","user":"data:x"}"#,
    )
    .unwrap();
    case.cmd.env(select::VAULT_ENV, "auto");
    assert_child(case.cmd);
}

#[test]
fn open_vault_rejects_an_unknown_amosync_vault() {
    let mut case = env_case("error");
    case.cmd.env(select::VAULT_ENV, "cloud");
    let output = assert_child(case.cmd);
    assert!(output.contains("keychain, file or auto"), "{output}");
}

// ---- the real Secret Service (gnome-keyring in a private D-Bus session) ----

#[test]
#[ignore = "runs as a child of the_real_secret_service_keeps_the_document"]
fn child_real_secret_service() {
    if !is_child() {
        return;
    }
    let data = child_data();
    let key = Some(std::path::PathBuf::from(
        std::env::var_os(KEY_FILE_ENV).unwrap(),
    ));
    let open = |choice| open_vault_with(&data, choice, key.clone()).unwrap();

    let vault = open(VaultChoice::Auto);
    assert_eq!(vault.location().backend, VaultBackend::Keychain, "probe");
    assert!(vault.load().unwrap().is_none());
    vault.save(&Secret::from(VALUE)).unwrap();
    assert_eq!(vault.load().unwrap().unwrap().expose(), VALUE);
    let marker = std::fs::read(data.root().join("vault.json")).unwrap();
    assert!(!contains(&marker, "tok-e2e"));
    assert!(!data.root().join("secrets.enc").exists());
    let shown = format!("{vault:?} {:?}", vault.location());
    assert!(!shown.contains("tok-e2e"), "{shown}");

    // Kept on the next open, through the marker and through the probe alone.
    assert_eq!(
        open(VaultChoice::Auto).load().unwrap().unwrap().expose(),
        VALUE
    );
    std::fs::remove_file(data.root().join("vault.json")).unwrap();
    let reopened = open(VaultChoice::Auto);
    assert_eq!(reopened.location().backend, VaultBackend::Keychain);
    assert_eq!(reopened.load().unwrap().unwrap().expose(), VALUE);

    // One entry per data folder.
    let other = tempfile::tempdir().unwrap();
    let other = KeychainVault::for_data(&DataDir::new(other.path()));
    assert!(other.load().unwrap().is_none());

    // gnome-keyring's own files never show the value in clear.
    if let Some(share) = std::env::var_os("XDG_DATA_HOME") {
        let keyrings = Path::new(&share).join("keyrings");
        for file in std::fs::read_dir(&keyrings).into_iter().flatten().take(50) {
            let bytes = std::fs::read(file.unwrap().path()).unwrap_or_default();
            assert!(!contains(&bytes, "tok-e2e"), "clear value in the keyring");
        }
    }

    vault.save(&Secret::from("second")).unwrap();
    assert_eq!(vault.load().unwrap().unwrap().expose(), "second");
    vault.delete().unwrap();
    assert!(vault.load().unwrap().is_none());
    assert!(!data.root().join("vault.json").exists());
    vault.delete().unwrap();

    // AMOSYNC_VAULT=file wins over an available keychain, and a file that
    // holds a document is then kept by `auto`.
    let file = open(VaultChoice::File);
    assert_eq!(file.location().backend, VaultBackend::EncryptedFile);
    file.save(&Secret::from(VALUE)).unwrap();
    let auto = open(VaultChoice::Auto);
    assert_eq!(auto.location().backend, VaultBackend::EncryptedFile);
    assert_eq!(auto.load().unwrap().unwrap().expose(), VALUE);
    println!("{DONE}");
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[cfg(target_os = "linux")]
#[test]
fn the_real_secret_service_keeps_the_document() {
    let missing: Vec<_> = ["dbus-run-session", "gnome-keyring-daemon"]
        .into_iter()
        .filter(|p| !on_path(p))
        .collect();
    if !missing.is_empty() {
        println!(
            "skipped: {missing:?} not on PATH; to run the real Secret Service test: \
             apt-get install -y --no-install-recommends gnome-keyring dbus"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let runtime = tmp.path().join("run");
    for dir in [&home, &runtime] {
        fsutil::ensure_private_dir(dir).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("dbus-run-session");
    cmd.args(["--", "sh", "-c"])
        .arg(
            "printf test | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
             && exec \"$@\"",
        )
        .arg("sh")
        .arg(exe)
        .args([
            "vault::tests::child_real_secret_service",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]);
    with_child_env(&mut cmd);
    cmd.env("HOME", &home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env(DATA, tmp.path().join("data"))
        .env(KEY_FILE_ENV, tmp.path().join("vault.key"));
    let (ok, output) = run(cmd, Duration::from_secs(90));
    assert!(ok, "the Secret Service child failed:\n{output}");
    assert!(
        !output.contains("tok-e2e"),
        "a value was printed:\n{output}"
    );
}
