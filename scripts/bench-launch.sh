#!/usr/bin/env bash
# Launch overhead of `confine run -p default -- /bin/true` and of `confine batch` (--jobs 1 and 2)
# against the bare command, the kernel floor (../shared/bench/floor.c, or $FLOOR_C) and
# bubblewrap with comparable isolation, measured side by side in one run, every launcher once per
# round (scripts/bench-batch.py: median launch, overhead over bare, overhead / the floor's,
# launches per second, CPU per launch, peak RSS), then the p90 table of bench/launch_bench (each
# variant in a block of its own), then the median of confine's own per-phase times over 31
# reports. Usage: scripts/bench-launch.sh [RUNS]
# POLICY=FILE measures another policy with `confine run` (default policies/default.toml), e.g. an
# older default.toml from `git show c736df4:policies/default.toml` to compare a change of the filter.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
policy=${POLICY:-policies/default.toml}
build=${BUILD_DIR:-build}
[ -x "$build/bench/launch_bench" ] || cmake --build "$build" --target launch_bench confine >/dev/null
command -v bwrap >/dev/null || { echo "bench-launch: install bubblewrap (apt-get install bubblewrap)" >&2; exit 1; }
confine=$(realpath "$build/src/confine")
bwrap_args=(bwrap --unshare-all --die-with-parent --new-session --proc /proc --dev /dev --tmpfs /tmp
  --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64
  --symlink usr/sbin /sbin --ro-bind /etc/ld.so.cache /etc/ld.so.cache --cap-drop ALL)
echo "machine: $(nproc) cores, kernel $(uname -r), user $(id -un)"
floor_c=${FLOOR_C:-../shared/bench/floor.c}
floor_bin=$(realpath "$build")/bench/floor
[ "$floor_bin" -nt "$floor_c" ] || gcc -O2 -static -o "$floor_bin" "$floor_c"
peak_rss=$(realpath "$build")/bench/peak_rss
[ "$peak_rss" -nt bench/peak_rss.c ] || gcc -O2 -static -o "$peak_rss" bench/peak_rss.c
CONFINE_POLICY_PATH=$PWD/policies python3 scripts/bench-batch.py "$confine" "$floor_bin" "$peak_rss" "$runs"
"$build/bench/launch_bench" --runs "$runs" -- \
  bare /bin/true --- \
  bubblewrap "$(command -v bwrap)" "${bwrap_args[@]:1}" /bin/true --- \
  confine "$confine" run --log-level error -p "$policy" -- /bin/true
# Phases: the median of each over 31 runs (one run's figures wander by 100 us and more here).
phase_runs=31
reports=$(mktemp -d)
for i in $(seq "$phase_runs"); do
  "$confine" run --log-level error -p "$policy" --report "$reports/$i.json" -- /bin/true
done
echo "confine phases (median of $phase_runs runs, microseconds):"
python3 - "$reports" <<'PY'
import json, os, statistics, sys
phases = {}
for name in sorted(os.listdir(sys.argv[1])):
    for phase in json.load(open(os.path.join(sys.argv[1], name)))["phases"]:
        phases.setdefault(phase["name"], []).append(phase["duration_us"])
total = 0
for name, values in phases.items():
    median = statistics.median(values)
    total += median
    print(f"  {name:24} {median:8.0f}")
print(f"  {'sum of medians':24} {total:8.0f}")
PY
rm -rf "$reports"
