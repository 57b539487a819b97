#!/bin/bash
# CI entry for the tests that need a real cgroup v2 hierarchy with controllers (the *CgroupV2*
# integration tests, label `vm` in ctest): prepares the VM, boots it once, and inside it runs
# confine's smoke checks (/bin/true under policies/default.toml; a 256 MiB memhog under
# --memory 32M) and integration_tests --gtest_filter='*CgroupV2*' with CONFINE_REQUIRE_ALL=1.
#
#   scripts/vm/test.sh [BUILD_DIR]        (default: ./build; run as root)
#
# Build first: ninja -C BUILD_DIR confine confine-probe integration_tests. The build tree and this
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

for f in "$build_dir/src/confine" "$build_dir/integration/confine-probe" "$build_dir/integration/integration_tests"; do
  [ -x "$f" ] || die "$f is missing; build first: ninja -C $build_dir confine confine-probe integration_tests"
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
  "$here/guest-suite.sh" "$build_dir" "$source_dir" "$results" "$filter"
run_status=$?
set -e
stage_end=$(date +%s%N)

ms() { printf '%d.%01d' $(($1 / 1000000000)) $(($1 / 100000000 % 10)); }
boot=$(sed -n 's/^boot_seconds=//p' "$results/vm-timing.txt" 2>/dev/null)
vm_wall=$(sed -n 's/^vm_wall_seconds=//p' "$results/vm-timing.txt" 2>/dev/null)

echo
echo "################ confine VM tests: summary"
status=0
python3 "$here/summarize.py" "$results" "$expected_enabled" || status=1
if [ "$run_status" -ne 0 ]; then
  echo "FAIL: the VM run itself failed (run.sh exit $run_status); see the messages above"
  status=1
fi
echo "== timing"
echo "prepare $(ms $((prepared - stage_start)))s; guest booted (uptime at command start) ${boot:-?}s;" \
     "VM wall ${vm_wall:-?}s; whole VM stage $(ms $((stage_end - stage_start)))s"
echo "results: $results (console log: $results/vm-console.log)"
exit $status
