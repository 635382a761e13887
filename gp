#!/usr/bin/env bash
# greenpower bootstrap: sets the machine up when needed, then runs the command line.
#
#   ./gp demo          set up, run the nightly pipeline on the bundled sample, show where the results are
#   ./gp test [ARGS]   set up, run the whole test suite (ARGS go to pytest)
#   ./gp COMMAND ...   any other `gp` command (run, campaign, query, serve, bench …), after set-up
#
# Set-up (each step only when missing): Debian packages WeasyPrint and the tests need (pango, HarfBuzz
# subsetting, the Noto CJK font, poppler-utils), a virtual environment in .venv/, and the pinned Python
# packages from requirements.lock. Afterwards .venv/bin/gp is the command line.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
say() { printf '\033[1m[greenpower]\033[0m %s\n' "$*" >&2; }

SYSTEM_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; exit 1; fi
}

ensure_system_packages() {
  local missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
      say "missing system packages ${missing[*]} and no apt-get: install them with your package manager"; exit 1
    fi
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

find_python() {
  for py in python3 python3.13 python3.12 python3.11; do
    if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$py"; return
    fi
  done
  say "Python 3.11 or newer is required"; exit 1
}

ensure_venv() {
  local stamp=.venv/.greenpower-installed
  local want
  want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/gp ]; then return; fi
  if [ ! -x .venv/bin/python ]; then
    local py; py=$(find_python)
    say "creating virtual environment .venv/ with $py"
    if ! "$py" -m venv .venv 2>/dev/null; then
      say "the venv module is missing: installing python3-venv"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf .venv; "$py" -m venv .venv
    fi
  fi
  say "installing pinned Python packages from requirements.lock (first time takes a few minutes)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$want" > "$stamp"
}

ensure_system_packages
ensure_venv

case "${1:-}" in
  test)
    shift
    say "running the test suite"
    exec .venv/bin/python -m pytest "$@"
    ;;
  "")
    exec .venv/bin/gp --help
    ;;
  *)
    exec .venv/bin/gp "$@"
    ;;
esac
