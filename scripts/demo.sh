#!/usr/bin/env bash
# Sets everything up, writes the synthetic demo patient once (user data directory) and opens it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/namecar-viewer --demo "$@"
