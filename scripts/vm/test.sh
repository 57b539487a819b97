#!/bin/bash
# CI entry for the tests that need a real cgroup v2 hierarchy with controllers (the *CgroupV2*
# integration tests, label `vm` in ctest): prepares the VM, boots it once, and inside it runs
# confine's smoke checks (/bin/true under policies/default.toml; a 256 MiB memhog under
# --memory 32M) and integration_tests --gtest_filter='*CgroupV2*' with CONFINE_REQUIRE_ALL=1.
#
#   scripts/vm/test.sh [BUILD_DIR]        (default: ./build; run as root)
#
# Then the host matrix (docs/vm.md, "The host matrix"): its cells for a stock kernel run at the
# end of that boot, and a second boot, with an lsm= list without landlock, runs the cells of a
# kernel without Landlock. CONFINE_VM_MATRIX=0 leaves the matrix out (and workload_tests unbuilt).
#
# Build first: ninja -C BUILD_DIR confine confine-probe integration_tests workload_tests. The build tree and this
# checkout must not be under /tmp (the guest has its own /tmp). Results (reports, gtest XML, the
# guest's console log) go to ${CONFINE_VM_RESULTS:-BUILD_DIR/vm-results}, emptied first.
# Exit status: 0 only if the smoke checks passed and exactly as many tests ran in the VM as the
# filter lists on the host, none failed or skipped. CONFINE_VM_TIMEOUT bounds the VM (540 s).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build_dir=$(realpath "${1:-build}")
filter=${CONFINE_VM_FILTER:-*CgroupV2*}
results=${CONFINE_VM_RESULTS:-$build_dir/vm-results}

say() { echo "vm/test: $*" >&2; }
die() { say "$*"; exit 1; }

matrix=${CONFINE_VM_MATRIX:-1}
# The first boot runs the matrix's cells too: give it more time than one suite needs.
[ "$matrix" = 1 ] && export CONFINE_VM_TIMEOUT=${CONFINE_VM_TIMEOUT:-1500}
# The kernel command line of the matrix's second boot: Debian's LSM list without landlock.
no_landlock_lsm=${CONFINE_VM_NO_LANDLOCK_LSM:-lsm=lockdown,capability,yama,apparmor,tomoyo,bpf}
binaries=("$build_dir/src/confine" "$build_dir/integration/confine-probe" "$build_dir/integration/integration_tests")
[ "$matrix" = 1 ] && binaries+=("$build_dir/integration/workloads/workload_tests")
for f in "${binaries[@]}"; do
  [ -x "$f" ] || die "$f is missing; build first: ninja -C $build_dir confine confine-probe integration_tests workload_tests"
done

# How many tests must run: the host lists them (listing runs nothing). A filter that matches
# nothing, or a VM run that ends early, must not pass as "0 failures".
expected=$("$build_dir/integration/integration_tests" --gtest_list_tests "--gtest_filter=$filter" |
           grep -c '^  [^ ]' || true)
expected_enabled=$("$build_dir/integration/integration_tests" --gtest_list_tests "--gtest_filter=$filter" |
                   grep '^  [^ ]' | grep -vc '^  DISABLED_' || true)
[ "$expected_enabled" -ge 1 ] || die "--gtest_filter=$filter lists no tests in $build_dir/integration/integration_tests"
say "$expected_enabled tests match $filter ($expected listed)"

stage_start=$(date +%s%N)
"$here/prepare.sh"
prepared=$(date +%s%N)

rm -rf "$results"
mkdir -p "$results"
results=$(realpath "$results")
set +e
# Not --quiet: the guest's console (its progress, gtest's output, OOM messages) goes to stderr,
# so a CI log shows what happened; it is also kept in $results/vm-console.log.
"$here/run.sh" --results "$results" --cwd "$source_dir" \
  "$here/guest-suite.sh" "$build_dir" "$source_dir" "$results" "$filter" $([ "$matrix" = 1 ] && echo matrix)
run_status=$?
matrix_status=0
if [ "$matrix" = 1 ]; then
  # The second boot: a kernel without Landlock, for the matrix's Landlock-absent cells.
  mkdir -p "$results/no-landlock"
  "$here/run.sh" --results "$results/no-landlock" --cwd "$source_dir" --append "$no_landlock_lsm" \
    "$here/matrix.sh" "$build_dir" "$source_dir" "$results/no-landlock" no-landlock
  matrix_status=$?
fi
set -e
stage_end=$(date +%s%N)

ms() { printf '%d.%01d' $(($1 / 1000000000)) $(($1 / 100000000 % 10)); }
boot=$(sed -n 's/^boot_seconds=//p' "$results/vm-timing.txt" 2>/dev/null)
vm_wall=$(sed -n 's/^vm_wall_seconds=//p' "$results/vm-timing.txt" 2>/dev/null)
vm2_wall=$(sed -n 's/^vm_wall_seconds=//p' "$results/no-landlock/vm-timing.txt" 2>/dev/null || true)

echo
echo "################ confine VM tests: summary"
status=0
python3 "$here/summarize.py" "$results" "$expected_enabled" || status=1
if [ "$run_status" -ne 0 ]; then
  echo "FAIL: the VM run itself failed (run.sh exit $run_status); see the messages above"
  status=1
fi
if [ "$matrix" = 1 ]; then
  python3 "$here/matrix_summary.py" "$results" default "$results/no-landlock" no-landlock || status=1
  if [ "$matrix_status" -ne 0 ]; then
    echo "FAIL: the matrix's second VM run (no Landlock) failed (run.sh exit $matrix_status)"
    status=1
  fi
  if [ "$(sed -n 's/^matrix //p' "$results/steps.txt" 2>/dev/null)" != 0 ]; then
    echo "FAIL: the matrix's cells in the first boot did not all run (matrix.sh exit $(sed -n 's/^matrix //p' "$results/steps.txt"))"
    status=1
  fi
fi
echo "== timing"
echo "prepare $(ms $((prepared - stage_start)))s; guest booted (uptime at command start) ${boot:-?}s;" \
     "VM wall ${vm_wall:-?}s${vm2_wall:+; second boot (no Landlock) ${vm2_wall}s}; whole VM stage $(ms $((stage_end - stage_start)))s"
echo "results: $results (console log: $results/vm-console.log)"
exit $status
