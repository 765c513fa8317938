//! The UI's TypeScript types are generated from the Rust ones; this fails on drift.

use std::path::PathBuf;

use amosync::bindings::{BINDINGS_PATH, typescript_bindings};

#[test]
fn ui_bindings_match_the_rust_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(BINDINGS_PATH);
    let generated = typescript_bindings();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write the bindings");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        checked_in, generated,
        "{BINDINGS_PATH} is out of date: run `UPDATE_BINDINGS=1 cargo test -p amosync --test bindings`"
    );
}
