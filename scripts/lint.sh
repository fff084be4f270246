#!/usr/bin/env bash
# The project's habits, as CI checks them (.ci/run): lint, format, types, layers. Needs .venv (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
