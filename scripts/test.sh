#!/usr/bin/env bash
# The whole test suite: build, unit, integration and workload tests, the Node client's tests,
# the integration tests again as an unprivileged user (the rootless path), the cgroup v2 tests
# in a VM, then soak, fuzzing and the sanitizer builds.
# Exit status is the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
status=0
ctest --test-dir build --output-on-failure -j2 --timeout 300 --label-exclude vm || status=1
# The Node client and its BullMQ example against the binary just built (scripts/test-clients.sh:
# npm packages from the committed lockfiles, node's own test runner, a redis-server of its own).
scripts/test-clients.sh || status=1
if [ "$(id -u)" -eq 0 ] && [ -x scripts/integration-rootless.sh ]; then
  scripts/integration-rootless.sh build || status=1
fi
# The Debian package: built with CPack, installed with dpkg -i, smoke-tested as /usr/bin/confine
# with its installed policies found by name, then purged (scripts/package-test.sh).
if [ "$(id -u)" -eq 0 ]; then
  scripts/package-test.sh build || status=1
fi
# Tests that need cgroup v2 resource controllers (label `vm`) run in a qemu VM with Debian's
# kernel, where memory, pids and cpu are available (scripts/vm/, docs/vm.md); the VM also runs
# a short soak with OOM kills in the mix.
if [ "$(id -u)" -eq 0 ]; then
  scripts/vm/test.sh build || status=1
fi
# Reliability (docs/security.md, section 5): a short soak on the host (mixed outcomes, then no
# leftover process, cgroup, mount, temp dir or fd), the fuzz targets for 30 s each, and the
# unit and integration suites again under AddressSanitizer + UndefinedBehaviorSanitizer with
# LeakSanitizer on every confine. Longer runs by hand: scripts/soak.sh 5000, scripts/fuzz.sh 3600.
scripts/soak.sh 300 || status=1
scripts/fuzz.sh 30 || status=1
scripts/sanitize.sh || status=1
exit $status
