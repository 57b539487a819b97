#!/usr/bin/env bash
# Soak and leak check: many `confine run`s back to back and two at a time, every kind of ending
# mixed in, then a check that nothing was left behind (tagged processes, cgroup leaves, mounts,
# temp entries, the caller's fds) and that confine's memory does not grow with the run count.
# Prints runs per second, per-scenario figures and every leak; exits 1 on a leak or a wrong
# outcome, 2 on a usage or setup problem.
#
#   scripts/soak.sh [RUNS] [soak.py options]     (default 1000 runs: ~30-60 s, for CI)
#   scripts/soak.sh 5000                          (by hand)
#
# BUILD_DIR picks the build tree (default ./build; --build DIR does the same). Run as root it
# also checks the cgroup leaves under confine's cgroup parent; with the memory controller there
# (the VM, scripts/vm/) it adds OOM runs. `scripts/soak.py --help` lists the options.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=1000
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
# /usr/bin/python3 first: the VM guest has a clean PATH, and a pyenv shim may not run there.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
# The shipped policies (the default one) from this checkout, found by name.
export CONFINE_POLICY_PATH=${CONFINE_POLICY_PATH:-$(cd "$here/../policies" && pwd)}
exec "$python" "$here/soak.py" --runs "$runs" --build "${BUILD_DIR:-$here/../build}" "$@"
