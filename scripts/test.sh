#!/usr/bin/env bash
# The whole test suite: build, unit, integration and workload tests, the Node client's tests,
# the integration tests again as an unprivileged user (the rootless path), the cgroup v2 tests
# in a VM, then soak, fuzzing and the sanitizer builds.
# Exit status is the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
status=0
# Each stage's verdict, printed again at the very end with the last lines of each failed stage's
# output: a failure early in a long log is then still in its last lines (what a CI page shows).
# Each stage's whole output is also kept in build/test-logs/.
logs=build/test-logs
rm -rf "$logs" && mkdir -p "$logs"
verdicts=()
failed=()
stage() {  # stage NAME COMMAND...: runs it, records PASS or FAIL (exit status) with its time
  local name=$1 start=$SECONDS rc
  shift
  set +e
  "$@" 2>&1 | tee "$logs/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -eq 0 ]; then
    verdicts+=("PASS  $name ($((SECONDS - start)) s)")
  else
    verdicts+=("FAIL  $name: exit $rc ($((SECONDS - start)) s), whole output in $logs/$name.log")
    failed+=("$name")
    status=1
  fi
}
stage ctest ctest --test-dir build --output-on-failure -j2 --timeout 300 --label-exclude vm
# The Node client and its BullMQ example against the binary just built (scripts/test-clients.sh:
# npm packages from the committed lockfiles, node's own test runner, a redis-server of its own).
stage clients scripts/test-clients.sh
if [ "$(id -u)" -eq 0 ] && [ -x scripts/integration-rootless.sh ]; then
  stage rootless scripts/integration-rootless.sh build
fi
# The Debian package: built with CPack, installed with dpkg -i, smoke-tested as /usr/bin/confine
# with its installed policies found by name, then purged (scripts/package-test.sh).
if [ "$(id -u)" -eq 0 ]; then
  stage package scripts/package-test.sh build
fi
# Tests that need cgroup v2 resource controllers (label `vm`) run in a qemu VM with Debian's
# kernel, where memory, pids and cpu are available (scripts/vm/, docs/vm.md); the VM also runs
# a short soak with OOM kills in the mix.
if [ "$(id -u)" -eq 0 ]; then
  stage vm scripts/vm/test.sh build
fi
# Reliability (docs/security.md, section 5): a short soak on the host (mixed outcomes, then no
# leftover process, cgroup, mount, temp dir or fd), the fuzz targets for 30 s each, and the
# unit and integration suites again under AddressSanitizer + UndefinedBehaviorSanitizer with
# LeakSanitizer on every confine. Longer runs by hand: scripts/soak.sh 5000, scripts/fuzz.sh 3600.
stage soak scripts/soak.sh 300
stage fuzz scripts/fuzz.sh 30
stage sanitize scripts/sanitize.sh
for name in "${failed[@]}"; do
  echo "== test.sh: the last lines of the failed stage $name"
  tail -n 25 "$logs/$name.log"
done
# ctest prints a failed test's output (--output-on-failure) under its status line, often far up
# the log: each failed test's last 40 lines are printed again here, where a CI page shows them.
if [ -f "$logs/ctest.log" ] && [[ " ${failed[*]} " == *" ctest "* ]]; then
  awk '/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: / { flush(); on = /\*\*\*|Not Run/; if (on) { head = $0; n = 0 }; next }
       /^ +Start +[0-9]+: |^[0-9]+% tests passed/ { flush(); on = 0; next }
       on { line[n++ % 40] = $0 }
       function flush(  i) {
         if (!on) return
         print "== test.sh: " head
         for (i = (n > 40 ? n - 40 : 0); i < n; i++) print line[i % 40]
         on = 0
       }
       END { flush() }' "$logs/ctest.log"
fi
echo "== test.sh: the stages"
printf '  %s\n' "${verdicts[@]}"
exit $status
