#!/usr/bin/env bash
# The whole test suite: build, unit tests, integration tests as root, the integration tests
# again as an unprivileged user (the rootless path), then the cgroup v2 tests in a VM.
# Exit status is the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
status=0
ctest --test-dir build --output-on-failure -j2 --timeout 300 --label-exclude vm || status=1
if [ "$(id -u)" -eq 0 ] && [ -x scripts/integration-rootless.sh ]; then
  scripts/integration-rootless.sh build || status=1
fi
# Tests that need cgroup v2 resource controllers (label `vm`) run in a qemu VM with Debian's
# kernel, where memory, pids and cpu are available (scripts/vm/, docs/vm.md).
if [ "$(id -u)" -eq 0 ]; then
  scripts/vm/test.sh build || status=1
fi
exit $status
