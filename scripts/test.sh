#!/usr/bin/env bash
# Set everything up, then run the test suite (unit, integration on a local Ray cluster, end-to-end CLI runs).
# Extra arguments go to one pytest process, e.g. `-m fast`: the inner loop (no Ray cluster, no sweep; under 3 min).
# Without arguments, the whole suite runs as two pytest processes side by side (docs/development.md, "Tests"):
# the tests on the session's shared Ray cluster (marker `cluster`), and the rest (unit tests, and the CLI runs that
# start their own Ray as a user's command does). A Ray Train run leaves one of the 2 cores idle ~40 % of its time
# (its processes start one after another); the other lane fills it.
set -euo pipefail
cd "$(dirname "$0")/.."
# Headless Chromium (Debian's package) for the browser tests (the HTML report, the Ray dashboard), where none is
# installed: apt (~45 s on a fresh machine, mostly downloading and unpacking) runs in the background while .venv is set
# up and the suite starts, at nice 10 (the suite keeps the CPU), and tests/support/chromium.py waits for it to end
# (its log: ROBOT_SWEEPS_CHROMIUM_LOG).
have_browser() {  # the names tests/support/chromium.py looks for
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  return 1
}
if [ -z "${CHROMIUM:-}" ] && ! have_browser; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    ROBOT_SWEEPS_CHROMIUM_LOG=$(mktemp "${TMPDIR:-/tmp}/robot-sweeps-chromium.XXXXXX")
    export ROBOT_SWEEPS_CHROMIUM_LOG
    echo "test: installing chromium (Debian package) in the background, for the browser tests"
    {
      status=0
      $SUDO env DEBIAN_FRONTEND=noninteractive nice -n 10 apt-get update -q &&
        $SUDO env DEBIAN_FRONTEND=noninteractive nice -n 10 apt-get install -y -q chromium || status=$?
      echo "robot-sweeps: apt exited $status"  # what the tests wait for
    } >"$ROBOT_SWEEPS_CHROMIUM_LOG" 2>&1 &
  else
    echo "test: warning: no apt-get here: install Chromium (or set CHROMIUM=<binary>) for the browser tests" >&2
  fi
fi
bash scripts/setup.sh
export RAY_USAGE_STATS_ENABLED=0 WANDB_MODE=offline
PYTEST=(.venv/bin/python -m pytest -q -p no:cacheprovider)
if [ "$#" -gt 0 ]; then
  exec "${PYTEST[@]}" "$@"
fi

base=$(mktemp -d "${TMPDIR:-/tmp}/robot-sweeps-tests.XXXXXX")
ROBOT_SWEEPS_TEST_LANE=own "${PYTEST[@]}" -m "not cluster" --basetemp="$base/own" >"$base/own.log" 2>&1 &
own=$!
trap 'kill -INT "$own" 2>/dev/null || true' INT TERM
echo "test: lane 1 of 2, the tests on the shared Ray cluster (lane 2, the rest, runs beside it into $base/own.log)"
cluster_status=0
# At a lower priority: the shared cluster's lane runs several processes at once (trials side by side, their actors)
# and would take most of the CPU from the other lane, whose tests run one at a time and finished last; reniced, it
# takes what the other lane leaves (docs/development.md, "Tests").
nice -n 5 "${PYTEST[@]}" -m cluster --basetemp="$base/cluster" || cluster_status=$?
own_status=0
wait "$own" || own_status=$?
echo
echo "test: lane 2 of 2, the tests that start no shared cluster (their own Ray, or none)"
cat "$base/own.log"
echo
echo "test: lane 1 (shared cluster) exit $cluster_status, lane 2 (the rest) exit $own_status"
if [ "$cluster_status" -ne 0 ] || [ "$own_status" -ne 0 ]; then
  exit 1
fi
rm -rf "$base"
