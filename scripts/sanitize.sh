#!/usr/bin/env bash
# The unit and integration suites under AddressSanitizer + UndefinedBehaviorSanitizer, with
# LeakSanitizer checking every confine process at exit. Usage: scripts/sanitize.sh
#
# Builds build-asan (gcc, -DCONFINE_SANITIZE=address,undefined: see cmake/Sanitizers.cmake for
# what is instrumented and why the child library and the probe are not), runs
# `ctest -LE 'vm|workloads'`, and fails on any sanitizer report. Reports go to files
# (log_path), not only to stderr: confine runs under the integration tests' harness, whose
# stderr a test may capture and never print, and a report must not be lost with it. The
# script prints every report file at the end; any file at all is a failure, even when every
# test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan
logs="$PWD/$build/sanitizer-logs"

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  -DCONFINE_WERROR=ON -DCONFINE_SANITIZE=address,undefined >/dev/null
ninja -C "$build"

rm -rf "$logs"
mkdir -p "$logs"
# The leak checker stops the process with ptrace to scan it. Where ptrace is forbidden (some
# container seccomp profiles) LeakSanitizer dies instead of checking, and a leak pass that
# cannot see leaks would be a pass that means nothing: prove it works here first, on a
# program that leaks on purpose.
canary="$PWD/$build/lsan-canary"
printf '#include <stdlib.h>\nvoid* volatile kept;\nint main(void) { kept = malloc(64); kept = 0; return 0; }\n' |
  gcc -x c -O0 -g -fsanitize=address -o "$canary" -
set +e
ASAN_OPTIONS=detect_leaks=1 "$canary" >"$logs/../lsan-canary.out" 2>&1
canary_status=$?
set -e
if [ "$canary_status" -eq 0 ] || ! grep -q 'ERROR: LeakSanitizer: detected memory leaks' "$logs/../lsan-canary.out"; then
  echo "sanitize: LeakSanitizer does not work here (exit $canary_status):" >&2
  cat "$logs/../lsan-canary.out" >&2
  exit 1
fi
echo "sanitize: LeakSanitizer works here (the canary's leak was found)"

# halt_on_error: the first report ends the process (the build also has -fno-sanitize-recover).
# log_path: one file per reporting process, <log_path>.<pid>, confine's own children included.
# exitcode=86: a sanitizer death never looks like the target's own exit code or confine's 125.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:print_stacktrace=1:exitcode=86:log_path=$logs/asan:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86:log_path=$logs/ubsan"
export LSAN_OPTIONS="exitcode=86"
status=0
ctest --test-dir "$build" --output-on-failure -j2 --timeout 300 --label-exclude 'vm|workloads' || status=1

reports="$(find "$logs" -type f | sort)"
if [ -n "$reports" ]; then
  status=1
  echo "sanitize: sanitizer reports:" >&2
  for f in $reports; do
    echo "==== $f" >&2
    cat "$f" >&2
  done
fi
if [ "$status" -eq 0 ]; then
  echo "sanitize: clean (no test failed, no sanitizer report)"
fi
exit $status
