#!/usr/bin/env bash
# Launch overhead of `confine run -p policies/default.toml -- /bin/true` against the bare
# command and against bubblewrap with comparable isolation, measured side by side in one run.
# Prints a table (median and p90 per launch, launches per second one and two at a time), then
# confine's own per-phase times from one report. Usage: scripts/bench-launch.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
build=${BUILD_DIR:-build}
[ -x "$build/bench/launch_bench" ] || cmake --build "$build" --target launch_bench confine >/dev/null
command -v bwrap >/dev/null || { echo "bench-launch: install bubblewrap (apt-get install bubblewrap)" >&2; exit 1; }
confine=$(realpath "$build/src/confine")
bwrap_args=(bwrap --unshare-all --die-with-parent --new-session --proc /proc --dev /dev --tmpfs /tmp
  --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64
  --symlink usr/sbin /sbin --ro-bind /etc/ld.so.cache /etc/ld.so.cache --cap-drop ALL)
echo "machine: $(nproc) cores, kernel $(uname -r), user $(id -un)"
"$build/bench/launch_bench" --runs "$runs" -- \
  bare /bin/true --- \
  bubblewrap "$(command -v bwrap)" "${bwrap_args[@]:1}" /bin/true --- \
  confine "$confine" run --log-level error -p policies/default.toml -- /bin/true
report=$(mktemp)
"$confine" run --log-level error -p policies/default.toml --report "$report" -- /bin/true
echo "confine phases (one run, microseconds):"
python3 - "$report" <<'PY'
import json, sys
for phase in json.load(open(sys.argv[1]))["phases"]:
    print(f"  {phase['name']:12} {phase['duration_us']:8}")
PY
rm -f "$report"
