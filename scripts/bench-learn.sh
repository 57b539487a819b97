#!/usr/bin/env bash
# The cost of `confine learn` and `confine run --audit` against a normal `confine run`, on a
# syscall-heavy job: a shell that stats, opens and lists files in a loop (every one a path
# syscall, which learn and audit hand to confine through seccomp user notification). Prints the
# median and p90 wall time of each over RUNS runs, and how many path calls the job made. No
# assertions: figures only. Usage: scripts/bench-learn.sh [RUNS] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
iterations=${2:-300}
build=${BUILD_DIR:-build}
[ -x "$build/src/confine" ] || cmake --build "$build" --target confine >/dev/null
confine=$(realpath "$build/src/confine")
export CONFINE_POLICY_PATH="$PWD/policies"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The job: per iteration one exec-free stat, open+read, and directory listing, in dash (no forks
# for builtins: `[ -e ]` stats, `read <` opens, the `for f in dir/*` glob lists).
job="i=0; while [ \$i -lt $iterations ]; do [ -e /usr/share/common-licenses/GPL-3 ]; read -r l < /etc/hostname; for f in /usr/share/common-licenses/*; do :; done; i=\$((i+1)); done"
echo "machine: $(nproc) cores, kernel $(uname -r), user $(id -un); $runs runs of $iterations iterations"
measure() {  # label, then the command
  local label=$1; shift
  python3 - "$label" "$runs" "$@" <<'PY'
import statistics, subprocess, sys, time
label, runs, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    times.append((time.perf_counter() - t) * 1000)
times.sort()
p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
print(f"  {label:28} median {statistics.median(times):8.1f} ms   p90 {p90:8.1f} ms")
PY
}
measure "bare (no confine)" /bin/sh -c "$job"
measure "confine run (learn-base)" "$confine" run -q -p learn-base -- /bin/sh -c "$job"
measure "confine run --audit" "$confine" run -q -p learn-base --audit -- /bin/sh -c "$job"
measure "confine learn" "$confine" learn -q --out "$work/learned.toml" -- /bin/sh -c "$job"
# How many calls the learn run saw (from what it wrote).
python3 - "$work/learned.toml" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
data = json.loads(text.split("# learn-data: ", 1)[1].splitlines()[0])
paths = sum(p["count"] for p in data["paths"])
calls = sum(data["syscalls"].values())
print(f"  learn saw {calls} notified syscalls and {paths} path uses in one run")
PY
