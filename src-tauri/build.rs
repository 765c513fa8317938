use std::path::Path;

// `COMMANDS`: the app's IPC commands (shared with src/commands.rs).
include!("src/command_names.rs");

fn main() {
    // The window serves ui/dist from inside the binary: say how to build it
    // instead of failing deep inside Tauri's code generation.
    let index = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist/index.html");
    println!("cargo:rerun-if-changed={}", index.display());
    if !index.exists() {
        eprintln!(
            "AmoSync's UI is not built (ui/dist/index.html is missing): run \
             `npm --prefix ui ci && npm --prefix ui run build` first \
             (scripts/run.sh and scripts/test.sh do this)."
        );
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed=src/command_names.rs");
    // An app manifest listing the commands makes Tauri generate an
    // `allow-<command>` permission for each and deny any command no
    // capability grants (without one, every app command is allowed to every
    // window). capabilities/default.json grants them to the main window.
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build: the config, capabilities or icons are invalid");
}
