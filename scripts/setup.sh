#!/usr/bin/env bash
# Sets up everything NAMECAR Viewer needs on a fresh Debian/Ubuntu machine with Python 3.11+:
# system libraries Qt needs (and dicom3tools for the DICOM conformance tests) when run as root,
# then a virtual environment in .venv with the package and its development tools.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0 dicom3tools orthanc orthanc-dicomweb postgresql dcmtk poppler-utils openssl"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=""
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "Installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
elif command -v apt-get >/dev/null 2>&1; then
  echo "Not root: make sure these Debian packages are installed: $APT_PACKAGES" >&2
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip runs only when the project's packaging changed (the package itself is installed editable,
# so edits under src/ need no reinstall): a stamp in .venv holds the hash of what pip read.
# Delete .venv/.namecar-install-stamp to force a reinstall.
STAMP=.venv/.namecar-install-stamp
want="$( { .venv/bin/python --version; cat pyproject.toml; [ ! -f setup.py ] || cat setup.py; } 2>&1 | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/namecar-viewer ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  echo "Python packages up to date (pyproject.toml unchanged since the last install)"
else
  rm -f "$STAMP"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$STAMP"
fi
