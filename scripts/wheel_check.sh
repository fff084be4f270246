#!/usr/bin/env bash
# Build the wheel and install it into a fresh virtualenv whose dependencies are the tested ones (.venv's, installed
# by setup.sh with constraints.txt, seen through a .pth file: a full download would take minutes); pip must find
# every dependency the wheel declares satisfied there (--no-index: nothing is fetched), then its console script
# runs from the installed copy. Fails on a module left out of the wheel, or a declared range the tested versions miss.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK" build' EXIT  # (setuptools leaves build/ in the checkout)
.venv/bin/python -m build --wheel --no-isolation --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 ||
  { cat "$WORK/build.log"; exit 1; }
WHEEL=$(ls "$WORK"/dist/robot_sweeps-*.whl)
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip uninstall -q -y setuptools 2>/dev/null || true  # the tested one is .venv's
SITE=$("$WORK/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" >"$SITE/tested_dependencies.pth"
"$WORK/venv/bin/python" -m pip install -q --no-index -c constraints.txt "$WHEEL" 2>&1 | grep -v "^WARNING: Location" || true
"$WORK/venv/bin/python" -m pip show -q robot-sweeps >/dev/null
"$WORK/venv/bin/python" -m pip check
cd "$WORK"  # away from the checkout: the installed package, not the source tree, answers
"$WORK/venv/bin/robot-sweeps" --help >"$WORK/help.txt"
grep -q "sweep" "$WORK/help.txt" || { echo "wheel check: robot-sweeps --help does not list the sweep command"; exit 1; }
"$WORK/venv/bin/python" -c "import orchestrator, trainables, search_spaces; print('wheel check: installed', orchestrator.__file__)"
echo "wheel check: $(basename "$WHEEL") installs and its console script runs"
