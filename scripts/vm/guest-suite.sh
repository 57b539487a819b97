#!/bin/bash
# Runs inside the VM (test.sh starts it through run.sh): confine's smoke checks and the cgroup-v2
# integration tests, with every artefact written to RESULTS for test.sh to judge on the host.
#
#   guest-suite.sh BUILD_DIR SOURCE_DIR RESULTS GTEST_FILTER [matrix]
#
# With "matrix", the host matrix's cells for this boot run last (matrix.sh ... default).
#
# Each step's exit status goes to RESULTS/steps.txt as "name status"; this script's own status is
# 0 only if it could run every step (the verdict on what they did is test.sh's). It reads cgroup
# files for the report and never writes to the hierarchy itself: creating the parent and enabling
# controllers is confine's job, and the harness doing it would hide a bug there.
set -u
build=$1 source=$2 results=$3 filter=$4 matrix=${5:-}
confine=$build/src/confine
probe_dir=$build/integration
cgroot=/sys/fs/cgroup
parent=${CONFINE_CGROUP_PARENT:-$cgroot/confine}

step() {  # name command...: runs it, records its status
  local name=$1
  shift
  echo "=== $name: $*" >&2
  "$@"
  local status=$?
  echo "$name $status" >>"$results/steps.txt"
  echo "=== $name: exit $status" >&2
}

show_cgroup() {  # dir: what a cgroup offers its children and what it passes on
  echo "$1/cgroup.controllers: $(cat "$1/cgroup.controllers" 2>&1)"
  echo "$1/cgroup.subtree_control: $(cat "$1/cgroup.subtree_control" 2>&1)"
}

cd "$source" || exit 1
: >"$results/steps.txt"
{ echo "kernel: $(uname -r)"; echo "before any job:"; show_cgroup "$cgroot"; show_cgroup "$parent"; } \
  >"$results/cgroups.txt" 2>&1

# 1. The default policy runs /bin/true; its report says which limits it could enforce.
step smoke-true "$confine" run -p policies/default.toml --report "$results/smoke-true.json" \
  -- /bin/true

# 2. What a job's leaf is given: start a short job and read its leaf while it runs.
"$confine" run -p policies/default.toml --report "$results/smoke-sleep.json" -- /bin/sleep 3 \
  >/dev/null 2>"$results/smoke-sleep.err" &
sleeper=$!
for _ in $(seq 1 40); do
  leaf=$(find "$parent" -mindepth 1 -maxdepth 1 -type d -name 'job-*' 2>/dev/null | head -n 1)
  [ -n "$leaf" ] && break
  sleep 0.1
done
{
  echo "while a job ran:"
  show_cgroup "$cgroot"
  show_cgroup "$parent"
  if [ -n "$leaf" ]; then show_cgroup "$leaf"; else echo "no job-* leaf appeared under $parent"; fi
} >>"$results/cgroups.txt" 2>&1
wait "$sleeper"
echo "smoke-sleep $?" >>"$results/steps.txt"

# 3. 256 MiB under a 32 MiB limit: must end in the OOM killer (outcome oom, exit 137).
step smoke-memhog "$confine" run -p policies/default.toml --ro "$probe_dir" --memory 32M \
  --report "$results/smoke-memhog.json" -- "$probe_dir/confine-probe" memhog 256

# 4. confine doctor on a host with every controller: the default policy must run fully enforced
#    (exit 0). On the host the integration suite checks the opposite verdict.
step doctor sh -c '"$1" doctor -p policies/default.toml --json >"$2"' doctor "$confine" "$results/doctor.json"

# 5. A short soak with every controller: mixed outcomes one and two at a time, OOM kills
#    included (scripts/soak.sh turns them on where memory is available), then nothing may be
#    left: processes, cgroup leaves, mounts, temp dirs, fds. TCG is slow (about 1 run/s), so 60.
step soak "$source/scripts/soak.sh" 60 --build "$build"

# 6. The integration tests that need cgroup v2 controllers. CONFINE_REQUIRE_ALL=1: a skip here
#    means the VM failed to provide what it exists for, so it counts as a failure.
CONFINE_REQUIRE_ALL=1 step integration "$build/integration/integration_tests" \
  "--gtest_filter=$filter" "--gtest_output=xml:$results/integration.xml"

{ echo "after the tests:"; show_cgroup "$parent"; echo "leaves left: $(find "$parent" -mindepth 1 -maxdepth 1 -type d 2>&1)"; } >>"$results/cgroups.txt" 2>&1

# 7. The host matrix's cells for this boot (docs/vm.md): last, since they change the guest
#    (controllers enabled at the root as a service manager would, a sysctl, cgroups they remove).
if [ "$matrix" = matrix ]; then
  step matrix "$source/scripts/vm/matrix.sh" "$build" "$source" "$results" default
fi
exit 0
