#!/usr/bin/env bash
# The workload tests under policies `confine learn` wrote (issue 12): for one workload tool,
#   1. learn: the tool's honest workload tests run with CONFINE_WORKLOAD_LEARN_DIR, so each of
#      their jobs runs under `confine learn` in the shape the tests use (the job dir read-only as
#      the working directory, the output area /out delivered; workload_fixture.cpp), every run
#      merged (--merge) into one learned policy;
#   2. the policy the tests then use: the learned one, plus the preset's service settings that
#      grant nothing (see below);
#   3. it is tighter than workload-base.toml: far fewer host files exposed read-only (the ro
#      entries are files and small directories, never a whole /usr), and a syscall allow-list;
#   4. the tool's whole workload suite, hostile inputs included, runs under it
#      (CONFINE_WORKLOAD_POLICY_DIR) and must pass.
#
# What comes from the preset, and why (docs/writing-policies.md, "How learned policies compare"):
# a learned policy's limits are sized from the honest samples (2x a peak, 4x a time), its /tmp is
# 64M, and its environment is learn-base's. A service chooses those (the preset's comment says how
# each was sized), and the hostile tests judge them (a decompression bomb spilling to a 512M /tmp,
# LibreOffice's profile in UserInstallation). So the test takes from the preset, resolved with
# `confine explain --json`, exactly: [limits], the /tmp tmpfs sizes, [env] set, [enforcement],
# and its kill/errno rules for the calls the learned allow-list leaves out (they decide how such a
# call is refused, a kill the report names instead of ENOSYS, and never refuse what learn
# allowed: the script checks the allow-list is unchanged). Everything that grants access comes
# from learning alone: the ro/rw paths, the syscall allow-list and its @default-deny kill rule,
# socket families, network mode, capabilities. The preset's deny masks are not taken, so what a
# hostile input finds on the filesystem is what learn wrote.
#
# Where a learned policy is stricter than the preset (a hostile input reaches for a program, a
# coder or a library the honest samples never used, and finds nothing), the tests accept that
# outcome under learned policies only (WorkloadTest::learned_policies()).
#
#   learned_policies_test.sh WORKLOAD_TESTS CONFINE TOOL
#
# TOOL: imagemagick ghostscript ffmpeg pandoc libreoffice python node. Exit 0 passed, 77 skipped
# (the tool is not installed; a failure under CONFINE_REQUIRE_ALL=1, where the honest tests fail
# themselves), anything else failed. KEEP=1 keeps the work dir (its path is printed).
set -euo pipefail
[ $# -eq 3 ] || { sed -n '2,33p' "$0" >&2; exit 2; }
tests=$(realpath "$1")
confine=$(realpath "$2")
tool=$3
source_dir=$(realpath "$(dirname "$0")/../..")
export CONFINE_POLICY_PATH=$source_dir/policies
# Learning takes the shape of the namespace mode (an output area); the learned policies are
# namespace-mode policies and are tested in it (the Landlock cells test the presets).
unset CONFINE_INTEG_ISOLATION

case $tool in
  imagemagick) suite=ImageMagickWorkload; honest='ImageMagickWorkload.SvgToPng*:ImageMagickWorkload.PngToJpeg*' ;;
  ghostscript) suite=GhostscriptWorkload; honest='GhostscriptWorkload.PostScriptTo*' ;;
  ffmpeg) suite=FfmpegWorkload; honest='FfmpegWorkload.Transcodes*:FfmpegWorkload.Thumbnail*' ;;
  pandoc) suite=PandocWorkload; honest='PandocWorkload.Converts*' ;;
  libreoffice) suite=LibreOfficeWorkload; honest='LibreOfficeWorkload.WriterDocx*' ;;
  python) suite=PythonWorkload; honest='PythonWorkload.StandardLibrary*' ;;
  node) suite=NodeWorkload; honest='NodeWorkload.ModuleWithBuiltins*' ;;
  *) echo "learned_policies_test: unknown tool $tool" >&2; exit 2 ;;
esac
preset=$tool.toml

work=$(mktemp -d /tmp/confine-learned-XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then echo "learned_policies_test: keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
chmod 0755 "$work"
mkdir "$work/learned" "$work/policies"
start=$SECONDS

# 1. Learn from the honest tests. Their own assertions still hold (the jobs run for real).
echo "== learn: $honest"
if ! CONFINE_WORKLOAD_LEARN_DIR=$work/learned "$tests" --gtest_filter="$honest" > "$work/learn.log" 2>&1; then
  cat "$work/learn.log"
  echo "learned_policies_test: the honest tests failed while learning" >&2
  exit 1
fi
runs=$(grep -c '^\[       OK \]' "$work/learn.log" || true)
if [ ! -f "$work/learned/$preset" ]; then
  # A skip only when no honest test ran at all: one that ran and left no policy is learn's fault.
  if [ "$runs" -eq 0 ] && grep -q '^\[  SKIPPED \]' "$work/learn.log"; then
    if [ "${CONFINE_REQUIRE_ALL:-0}" = 1 ]; then
      echo "learned_policies_test: the honest tests of $tool were skipped, and CONFINE_REQUIRE_ALL=1" >&2
      exit 1
    fi
    grep -B3 '^\[  SKIPPED \]' "$work/learn.log" | head -n 20  # gtest prints the reason before it
    echo "learned_policies_test: SKIPPED: the honest tests of $tool were skipped (the tool is not installed?)"
    exit 77
  fi
  cat "$work/learn.log"
  echo "learned_policies_test: no learned policy was written to $work/learned/$preset" >&2
  exit 1
fi
echo "learned from $runs honest tests in $((SECONDS - start))s"
"$confine" check "$work/learned/$preset"

# The syscalls a policy allows, from its dry-run summary ("allow (N): name name ...", wrapped onto
# indented lines), one per line.
allowed() {
  "$confine" run --dry-run --best-effort -p "$1" -- /bin/true 2>&1 |
    awk '/^ *allow \([0-9]+\): / { on = 1; sub(/^ *allow \([0-9]+\): /, ""); print; next }
         on && /^      / { print; next } { on = 0 }' | tr -s ' \n' '\n' | sed '/^$/d' | sort
}

# A policy's resolved settings as plain JSON: `explain --json` wraps every value as
# {"origin", "value"}; this unwraps them, recursively.
settings() {
  "$confine" explain --json "$1" | python3 -c '
import json, sys
def value(x):
    if isinstance(x, dict):
        if set(x) == {"origin", "value"}:
            return value(x["value"])
        return {k: value(v) for k, v in x.items()}
    if isinstance(x, list):
        return [value(v) for v in x]
    return x
json.dump(value(json.load(sys.stdin)), sys.stdout)'
}

# 2. The learned policy with the preset's service settings.
settings "$source_dir/policies/$preset" > "$work/preset.json"
allowed "$work/learned/$preset" > "$work/learned.allowed"
python3 - "$work/preset.json" "$work/learned/$preset" "$work/learned.allowed" "$preset" > "$work/policies/$preset" <<'PY'
import errno, json, sys

def q(s):
    return json.dumps(s)  # a TOML basic string for the plain text these values hold

p = json.load(open(sys.argv[1]))
out = ["# The learned policy with the service settings of policies/" + sys.argv[4] + " (learned_policies_test.sh):",
       "# limits, /tmp size, environment, enforcement, kill/errno for unlearned calls. Nothing here grants access.",
       "version = 1",
       "extends = [" + q(sys.argv[2]) + "]",
       "",
       "[filesystem]",
       "tmpfs = [" + ", ".join("{ path = %s, size = %s }" % (q(t["path"]), q(str(t["size"]))) for t in p["filesystem"]["tmpfs"]) + "]",
       "",
       "[env]",
       "set = { " + ", ".join("%s = %s" % (q(k), q(v)) for k, v in sorted(p["env"]["set"].items())) + " }",
       "",
       "[limits]"]
ms = {"wall_time", "cpu_time", "kill_grace"}
for k, v in sorted(p["limits"].items()):
    if v is None:
        continue
    if isinstance(v, bool):
        out.append("%s = %s" % (k, "true" if v else "false"))
    elif k in ms:
        out.append("%s = %s" % (k, q("%dms" % v)))
    elif k in {"pids", "open_files"}:
        out.append("%s = %d" % (k, v))
    else:
        out.append("%s = %s" % (k, q(str(v))))
out += ["", "[enforcement]"]
for k, v in sorted(p["enforcement"].items()):
    out.append("%s = %s" % (k, q(v)))
# The preset's kill and errno rules decide how a call the learned allow-list leaves out is refused
# (a kill the report names instead of ENOSYS); never for a call learn allowed, so they take away
# nothing learn granted. Groups are left out: @default-deny is in the learned policy's own rule.
learned_allowed = set(open(sys.argv[3]).read().split())
for rule in p["seccomp"]["rule"]:
    if rule["action"] == "allow":
        continue
    names = [n for n in rule["syscalls"] if not n.startswith("@") and n not in learned_allowed]
    if not names:
        continue
    out += ["", "[[seccomp.rule]]", "action = " + q(rule["action"])]
    if rule.get("errno") is not None:
        out.append("errno = " + q(errno.errorcode[rule["errno"]]))
    out.append("syscalls = [" + ", ".join(q(n) for n in names) + "]")
print("\n".join(out))
PY
"$confine" check "$work/policies/$preset"

# The learned policy kills kernel attack surface it never saw used (@default-deny), and names it.
killed=$("$confine" run --dry-run --best-effort -p "$work/learned/$preset" -- /bin/true 2>&1 |
  awk '/^ *kill process \([0-9]+\): / { on = 1; sub(/^ *kill process \([0-9]+\): /, ""); print; next }
       on && /^      / { print; next } { on = 0 }' | tr -s ' \n' '\n')
for call in unshare bpf keyctl io_uring_setup ptrace mount; do
  if ! grep -qx "$call" <<< "$killed"; then
    echo "learned_policies_test: the learned policy does not kill $call (@default-deny)" >&2
    exit 1
  fi
done

# Nothing learn allowed was taken away, and nothing was added.
allowed "$work/policies/$preset" > "$work/composed.allowed"
if ! diff -u "$work/learned.allowed" "$work/composed.allowed"; then
  echo "learned_policies_test: the composed policy allows other syscalls than the learned one" >&2
  exit 1
fi

# 3. Tighter than workload-base.toml.
settings "$work/policies/$preset" > "$work/learned.json"
settings "$source_dir/policies/workload-base.toml" > "$work/base.json"
python3 - "$work/learned.json" "$work/base.json" <<'PY'
import json, os, sys

def exposed(policy):
    """The host files the ro entries expose: a file counts 1, a directory every entry beneath it."""
    seen = set()
    for entry in policy["filesystem"]["ro"]:
        path = entry["path"]
        if not os.path.lexists(path):
            continue
        seen.add(path)
        if os.path.isdir(path) and not os.path.islink(path):
            for root, dirs, files in os.walk(path):
                seen.update(os.path.join(root, n) for n in dirs + files)
    return seen

learned, base = (json.load(open(f)) for f in sys.argv[1:3])
problems = []
l_files, b_files = exposed(learned), exposed(base)
l_ro = [e["path"] for e in learned["filesystem"]["ro"]]
print("ro entries: learned %d, workload-base %d; host files exposed read-only: learned %d, workload-base %d"
      % (len(l_ro), len(base["filesystem"]["ro"]), len(l_files), len(b_files)))
if len(l_files) * 10 > len(b_files):
    problems.append("the learned policy exposes %d host files, not under a tenth of workload-base's %d" % (len(l_files), len(b_files)))
for e in base["filesystem"]["ro"]:
    if os.path.isdir(e["path"]) and not os.path.islink(e["path"]) and e["path"] in l_ro:
        problems.append("the learned policy exposes workload-base's whole %s" % e["path"])
if learned["filesystem"]["rw"]:
    problems.append("the learned policy has rw paths: %s" % learned["filesystem"]["rw"])
sc = learned["seccomp"]
allowed = [n for r in sc["rule"] if r["action"] == "allow" for n in r["syscalls"]]
print("seccomp: default %s, allowed %s" % (sc["default_action"], " ".join(allowed)))
if sc["default_action"] == "allow":
    problems.append("the learned policy's seccomp is not an allow-list (default_action allow)")
if any(n == "@confine-base" or n == "@default" for n in allowed):
    problems.append("the learned allow-list names a shipped group wholesale")
for p in problems:
    print("learned_policies_test: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# 4. The tool's whole workload suite under it.
echo "== $suite.* under the learned policy"
suite_start=$SECONDS
if ! CONFINE_WORKLOAD_POLICY_DIR=$work/policies "$tests" --gtest_filter="$suite.*" > "$work/suite.log" 2>&1; then
  echo "== the learned policy (without its learn-data line):"
  grep -v '^# learn-data: ' "$work/learned/$preset"
  echo "== the policy the suite ran under:"
  cat "$work/policies/$preset"
  echo "== the suite's output:"
  cat "$work/suite.log"
  # Last, what failed and why (gtest's failure messages), where a log's tail shows it.
  echo "== the failures:"
  grep -A 12 ': Failure$' "$work/suite.log" | grep -v '^\[ RUN  \|^\[       OK' | tail -n 30 || true
  echo "learned_policies_test: $suite failed under the learned policy" >&2
  exit 1
fi
grep -E '^\[  (PASSED|SKIPPED) |^\[       OK \]|^\[  SKIPPED \]' "$work/suite.log"
if grep -q '^\[  SKIPPED \]' "$work/suite.log" && [ "${CONFINE_REQUIRE_ALL:-0}" = 1 ]; then
  echo "learned_policies_test: tests were skipped under CONFINE_REQUIRE_ALL=1" >&2
  exit 1
fi
echo "learned_policies_test: $tool: learned in $((suite_start - start))s, suite passed in $((SECONDS - suite_start))s"
