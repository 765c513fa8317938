use std::path::Path;

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
    tauri_build::build()
}
