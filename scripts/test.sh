#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite: ruff (lint + format), mypy strict on core/,
# and pytest (GUI tests offscreen).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
echo "== ruff"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
echo "== mypy (strict on core/)"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
