#!/usr/bin/env bash
# Create .venv and install the project with pinned versions (torch 2.13.0 CPU, ray 2.60.0, ...).
# Idempotent: reinstalls only when pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project into .venv (first run takes ~2 minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
