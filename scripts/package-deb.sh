#!/usr/bin/env bash
# Builds an installable Debian package of the desktop app with the Tauri CLI
# from npm (seconds to fetch, unlike `cargo install tauri-cli`), then checks
# that its desktop entry hands amosync:// links to the app (`%u`, MimeType).
# Prints the .deb's path last. Extra arguments go to `tauri build`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
die() { printf '\033[1;31m[deb]\033[0m %s\n' "$*" >&2; exit 1; }
log() { printf '\033[1;34m[deb]\033[0m %s\n' "$*" >&2; }

scripts/setup.sh run
log "building the release app and its .deb (about 5–10 minutes on 2 cores)"
# The Tauri CLI wants the config beside a [package] Cargo.toml:
# src-tauri/tauri.conf.json is a symlink to the top-level one. It runs the
# config's beforeBuildCommand in the UI folder.
TAURI_APP_PATH=src-tauri TAURI_FRONTEND_PATH=ui npx --yes @tauri-apps/cli@2 build --bundles deb "$@"

target="${CARGO_TARGET_DIR:-$root/target}"
deb=$(ls -t "$target"/release/bundle/deb/*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "no .deb under $target/release/bundle/deb"
entry=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*usr/share/applications/*.desktop')
grep -q '^Exec=.* %u$' <<<"$entry" || die "the desktop entry does not pass the URL (%u): $entry"
grep -q '^MimeType=x-scheme-handler/amosync;' <<<"$entry" || die "the desktop entry does not claim amosync:// links"
log "ok: $(du -h "$deb" | cut -f1), desktop entry passes amosync:// links"
echo "$deb"
