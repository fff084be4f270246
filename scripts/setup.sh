#!/usr/bin/env bash
# Create .venv and install the project with pinned versions (torch 2.13.0 CPU, ray 2.60.0, ...).
# Idempotent: reinstalls only when pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project into .venv (first run takes under a minute)"
  # uv installs what pip would (constraints.txt pins every package), in parallel: 31 s on a fresh machine here
  # against pip's 59 s. uv reads none of pip's configuration, so it gets pip's indexes, find-links and constraints
  # (config files, PIP_*). Without uv (offline, no index has it), pip installs.
  if .venv/bin/python -m pip install -q -c constraints.txt uv 2>/dev/null; then
    uv_args=()
    while IFS= read -r line; do
      key=${line%%=*} value=${line#*=}
      value=${value#\'} value=${value%\'}
      case "${key##*.}" in
        index-url) uv_args+=(--default-index "$value") ;;
        extra-index-url) for v in $value; do uv_args+=(--index "$v"); done ;;
        find-links) for v in $value; do uv_args+=(--find-links "$v"); done ;;
        constraint) for v in $value; do uv_args+=(--constraint "$v"); done ;;
      esac
    done < <(.venv/bin/python -m pip config list 2>/dev/null)
    # pip's index choice (the best version on any index), and .pyc files written now, as pip writes them
    .venv/bin/uv pip install -q --python .venv/bin/python --index-strategy unsafe-best-match "${uv_args[@]}" \
      --compile-bytecode -c constraints.txt -e ".[dev]"
  else
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# The project's own modules as .pyc (only those changed since the last run): where PYTHONDONTWRITEBYTECODE is set,
# no process writes them, and each Ray worker would compile what it imports again (~0.15 s of CPU per process).
.venv/bin/python -m compileall -q orchestrator trainables search_spaces >/dev/null
