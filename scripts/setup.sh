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
# Headless Chromium (Debian's package) for the HTML report's browser test (tests/unit/test_report_html.py).
# Skipped when a Chromium is already there; a failed install only warns: that test then fails saying what to do.
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing chromium (Debian package) for the report's browser test"
    { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } ||
      echo "setup: warning: could not install chromium; install it (or set CHROMIUM=<binary>) for the report test" >&2
  else
    echo "setup: warning: no apt-get here: install Chromium (or set CHROMIUM=<binary>) for the report test" >&2
  fi
fi
