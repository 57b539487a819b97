#!/usr/bin/env bash
# Derives a seccomp allow-list for a shipped policy from what real jobs do: runs them under the
# policy with every syscall refused (default ENOSYS, the policy's own allow rules turned back to
# ENOSYS) and `confine run --audit`, which lets each refused call run and lists it in the report
# (audit.syscalls), then prints the union of those names with their call counts, one per line.
# Nothing is enforced while tracing; review the list before it goes into a policy.
#
#   scripts/derive-allowlist.sh POLICY [--tests GTEST_FILTER]... [-- CMD [ARG...]]
#
# POLICY is a file under policies/ (imagemagick.toml). --tests runs the workload tests matching
# the filter (integration/workloads, the fixture's CONFINE_WORKLOAD_AUDIT_DIR hook) with their
# policy traced this way; the tests themselves fail (an audited run is not enforcing) and that is
# expected. `-- CMD` runs one command under the traced policy, with the current directory bound
# read-only as its working directory. Both can be given. Examples (how the shipped lists were made):
#   scripts/derive-allowlist.sh ffmpeg.toml --tests 'FfmpegWorkload.Transcodes*:FfmpegWorkload.Thumbnail*'
#   scripts/derive-allowlist.sh default.toml -- /bin/sh -c 'ls -l /usr | sort | head -n 3'
# Environment: BUILD_DIR (default build), KEEP=1 keeps the reports (the path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ $# -ge 1 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
policy=$1
shift
src=$(realpath "policies/$policy")
filters=()
command=()
while [ $# -gt 0 ]; do
  case $1 in
    --tests) filters+=("$2"); shift 2 ;;
    --) shift; command=("$@"); break ;;
    *) echo "derive-allowlist: unknown argument $1" >&2; exit 2 ;;
  esac
done
confine=$(realpath "$build/src/confine")
work=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
export CONFINE_POLICY_PATH=$PWD/policies

# The policy's own allow rules, read from its dry-run summary ("allow (N): name name ...", wrapped
# onto indented lines), so that tracing starts from nothing whatever the policy allows today.
allowed=$("$confine" run --dry-run --best-effort -p "$src" -- /bin/true 2>&1 |
  awk '/^ *allow \([0-9]+\): / { on = 1; sub(/^ *allow \([0-9]+\): /, ""); print; next }
       on && /^      / { print; next } { on = 0 }' | tr -s ' \n' ' ' || true)
# The summary lists these under the built-ins (supervision, the listener's sendmsg), not as allowed.
allowed="$allowed exit_group execve execveat kill tkill tgkill pidfd_send_signal rt_sigqueueinfo rt_tgsigqueueinfo sendmsg"
{
  echo "version = 1"
  echo "extends = [\"$src\"]"
  echo "[seccomp]"
  echo "default_action = \"errno\""
  echo "errno = \"ENOSYS\""
  echo "[[seccomp.rule]]"
  echo "action = \"errno\""
  echo "errno = \"ENOSYS\""
  printf 'syscalls = ['
  printf '"%s", ' $allowed | sed 's/, $//'
  echo "]"
} > "$work/$policy"

if [ ${#filters[@]} -gt 0 ]; then
  filter=$(IFS=:; echo "${filters[*]}")
  CONFINE_WORKLOAD_AUDIT_DIR=$work "$build/integration/workloads/workload_tests" --gtest_filter="$filter" \
    > "$work/tests.log" 2>&1 || true
fi
if [ ${#command[@]} -gt 0 ]; then
  best_effort=()
  "$confine" run --dry-run -p "$work/$policy" -- /bin/true >/dev/null 2>&1 || best_effort=(--best-effort)
  "$confine" run --audit -p "$work/$policy" "${best_effort[@]}" --ro "$PWD" --cwd "$PWD" \
    --report "$work/command.report.json" -- "${command[@]}" || true
fi

python3 - "$work" <<'PY'
import json, os, sys
seen = {}
reports = [n for n in sorted(os.listdir(sys.argv[1])) if n.endswith(".report.json")]
for name in reports:
    try:
        report = json.load(open(os.path.join(sys.argv[1], name)))
    except (OSError, ValueError):
        continue
    for denial in ((report.get("audit") or {}).get("syscalls") or []):
        seen[denial["syscall"]] = seen.get(denial["syscall"], 0) + denial["count"]
print(f"# {len(seen)} syscalls from {len(reports)} audited runs", file=sys.stderr)
for name in sorted(seen):
    print(f"{name} {seen[name]}")
PY
[ "${KEEP:-0}" != 1 ] || echo "reports kept in $work" >&2
