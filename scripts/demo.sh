#!/usr/bin/env bash
# Sets everything up, writes the synthetic demo patient once (user data directory) and opens it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The first time, write the demo patient (~30 s, 428 MB) with its progress line before the window
# opens (a failure is shown in the window). Later starts find the marker the writer leaves beside
# the demo folder (platformdirs' user data directory on Linux) and open the window at once.
marker="${XDG_DATA_HOME:-$HOME/.local/share}/namecar-viewer/demo-patient.complete"
if [ ! -f "$marker" ]; then
  .venv/bin/namecar-viewer demo >/dev/null || true
fi
exec .venv/bin/namecar-viewer --demo "$@"
