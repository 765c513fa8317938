#!/usr/bin/env bash
# Installs what AmoSync needs to build, run and test, skipping what is present.
#   scripts/setup.sh run    – system libraries for the desktop app, UI packages
#   scripts/setup.sh test   – the above, plus Xvfb, WebKitWebDriver, tauri-driver, cargo-fuzz
# Safe to run again: every step checks first. Needs network only for missing packages.
set -euo pipefail
mode="${1:-run}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup]\033[0m %s\n' "$*" >&2; exit 1; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "need root or sudo to install system packages"
  sudo_cmd=(sudo)
fi

# --- Debian packages -------------------------------------------------------
run_pkgs=(libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev
          libayatana-appindicator3-dev librsvg2-dev pkg-config)
test_pkgs=(xvfb xauth webkit2gtk-driver dbus dbus-x11 xdg-utils x11-utils
           desktop-file-utils imagemagick)
wanted=("${run_pkgs[@]}")
[ "$mode" = test ] && wanted+=("${test_pkgs[@]}")

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  log "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

# --- Rust toolchain --------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust from https://rustup.rs (stable ≥ 1.90)"
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true

# --- UI packages (npm, no browser downloads) ---------------------------------
command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js ≥ 20 (apt-get install nodejs npm)"
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  log "installing UI packages (npm ci)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
else
  log "UI packages present"
fi

# --- test-only tools -------------------------------------------------------
if [ "$mode" = test ]; then
  if ! command -v tauri-driver >/dev/null 2>&1; then
    log "installing tauri-driver (cargo install, ~1 min)"
    cargo install tauri-driver --version "^2" --locked --quiet
  fi
  if ! command -v cargo-nextest >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install cargo-nextest --locked --quiet
  fi
fi
log "ready ($mode)"
