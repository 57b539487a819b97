#!/usr/bin/env bash
# Fuzz the policy loader and the command-line parser with libFuzzer (fuzz/*.cpp says what each
# target checks). Usage: scripts/fuzz.sh [seconds-per-target]   (default 30)
#
# Builds build-fuzz with clang (-fsanitize=fuzzer,address,undefined), seeds each target from
# every policy in the repository and the test fixtures, and runs it for the given time with a
# per-input timeout and leak detection. The corpus it grows is kept in build-fuzz/fuzz/corpus/
# for the next run; crash, timeout and leak inputs are written to build-fuzz/fuzz/artifacts/
# and printed. Exit status: 0 when no target found anything.
# Needs: clang (14), libclang-rt-14-dev (the libFuzzer and sanitizer runtimes), llvm-14 for
# llvm-symbolizer (readable stacks; optional).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;; esac
build=build-fuzz
work="$build/fuzz"

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Warnings are gcc's job (the main build is -Werror); clang sees the same flags here.
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  -DCONFINE_WERROR=ON -DCONFINE_BUILD_TESTS=OFF -DCONFINE_FUZZ=ON -DCONFINE_SANITIZE=address,undefined >/dev/null
ninja -C "$build" policy_fuzz cli_fuzz

# Seeds, rebuilt every run from the tree (the corpus directory keeps what the fuzzer found).
rm -rf "$work/seeds"
mkdir -p "$work/seeds/policy" "$work/seeds/cli" "$work/corpus/policy" "$work/corpus/cli" \
         "$work/artifacts/policy" "$work/artifacts/cli"
mapfile -t policies < <(find policies integration/policies tests/fixtures/policy -type f -name '*.toml' | sort)
base_default="$(grep -v '^extends' policies/default.toml)"
n=0
for f in "${policies[@]}"; do
  n=$((n + 1))
  cp "$f" "$work/seeds/policy/$n-alone.toml"
  # The same file as the child of a base (fuzz/policy_fuzz.cpp: "#%base" splits the input):
  # its own first base when it names one, else the default policy.
  first_base="$(sed -n 's/^extends *= *\[ *"\([^"]*\)".*/\1/p' "$f" | head -n1)"
  base_text="$base_default"
  if [ -n "$first_base" ] && [ -f "$(dirname "$f")/$first_base" ]; then
    base_text="$(grep -v '^extends' "$(dirname "$f")/$first_base")"
  fi
  {
    echo 'extends = ["base.toml"]'
    grep -v '^extends' "$f" || true
    printf '\n#%%base\n%s\n' "$base_text"
  } > "$work/seeds/policy/$n-extends.toml"
done
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf '%s' "$line" | tr ' ' '\0' > "$work/seeds/cli/$n"
done < fuzz/cli_seeds.txt

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:print_stacktrace=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
status=0
for target in policy cli; do
  log="$work/$target.log"
  echo "fuzz: ${target}_fuzz for ${seconds}s (log $log)"
  start=$(date +%s)
  # stdin is /dev/null: a policy may name /dev/stdin in `extends`, which must not wait on a tty.
  if "$build/fuzz/${target}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -detect_leaks=1 -max_len=16384 -print_final_stats=1 -dict="fuzz/$target.dict" \
       -artifact_prefix="$work/artifacts/$target/" \
       "$work/corpus/$target" "$work/seeds/$target" </dev/null >"$log" 2>&1; then
    echo "fuzz: ${target}_fuzz clean after $(( $(date +%s) - start ))s:" \
         "$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs," \
         "corpus $(find "$work/corpus/$target" -type f | wc -l) inputs"
  else
    status=1
    echo "fuzz: ${target}_fuzz FOUND A PROBLEM; the end of its log:" >&2
    tail -n 60 "$log" >&2
  fi
done
artifacts="$(find "$work/artifacts" -type f | sort)"
if [ -n "$artifacts" ]; then
  status=1
  echo "fuzz: inputs that failed (replay with build-fuzz/fuzz/<target>_fuzz FILE):" >&2
  echo "$artifacts" >&2
fi
exit $status
