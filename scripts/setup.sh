#!/usr/bin/env bash
# Installs what AmoSync needs to build, run and test, skipping what is present.
#   scripts/setup.sh run    – system libraries for the desktop app, UI packages
#   scripts/setup.sh test   – the above, plus Xvfb, WebKitWebDriver, tauri-driver, cargo-nextest
#                             (scripts/fuzz-smoke.sh installs cargo-fuzz itself, when nightly exists)
# Safe to run again: every step checks first. Needs network only for missing packages.
set -euo pipefail
mode="${1:-run}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup]\033[0m %s\n' "$*" >&2; exit 1; }

# Prints "ok" when version $1 >= $2 (dotted numbers).
version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# --- Debian packages -------------------------------------------------------
run_pkgs=(libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev
          libayatana-appindicator3-dev librsvg2-dev pkg-config)
test_pkgs=(xvfb xauth webkit2gtk-driver dbus dbus-x11 xdg-utils x11-utils
           desktop-file-utils imagemagick gnome-keyring)
wanted=("${run_pkgs[@]}")
[ "$mode" = test ] && wanted+=("${test_pkgs[@]}")

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}): run this script as root or install sudo"
    sudo_cmd=(sudo)
  fi
  log "installing Debian packages (a few minutes the first time): ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

# --- Rust toolchain --------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust from https://rustup.rs (stable ≥ 1.90)"
rust_version="$(rustc --version | awk '{print $2}')"
version_at_least "$rust_version" 1.90.0 || die "Rust $rust_version is too old: AmoSync needs ≥ 1.90 (rustup update stable)"
for component in clippy rustfmt; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    log "adding the Rust component $component"
    rustup component add "$component" >/dev/null || die "could not add $component: run 'rustup component add $component'"
  fi
done

# --- UI packages (npm, no browser downloads) ---------------------------------
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
  || die "Node.js not found: install Node.js 20.19+ or 22.12+ (https://nodejs.org, or NodeSource's Debian packages)"
node_version="$(node -p process.versions.node)"
version_at_least "$node_version" 20.19.0 \
  || die "Node.js $node_version is too old: the UI build (Vite 8) needs 20.19+ or 22.12+ (https://nodejs.org)"
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
