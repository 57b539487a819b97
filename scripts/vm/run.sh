#!/bin/bash
# Boots the test VM (qemu, TCG) and runs one command in it as root; exits with its exit status.
#
#   scripts/vm/run.sh [--results DIR] [--cwd DIR] [--env NAME=VALUE]... [--timeout SECONDS]
#                     [--log FILE] [--quiet] [--] CMD [ARGS...]
#
# The guest's root is the host's /, shared read-only over 9p, so CMD is an absolute host path and
# the build tree is visible as it is. The guest mounts its own proc, sysfs, tmpfs /tmp and /run,
# and a cgroup2 hierarchy with all controllers at /sys/fs/cgroup (see init-stage2.sh). Hence CMD,
# --cwd and the build tree must not live under /tmp, /run, /proc, /sys or /dev on the host.
#
#   --results DIR   writable directory, mounted in the guest at the same path (default: a fresh
#                   /var/tmp/confine-vm-results.XXXXXX, printed); the console log goes there too
#   --cwd DIR       working directory in the guest (default: the current one)
#   --env N=V       add to CMD's environment, which is otherwise only PATH, HOME, LANG, TERM and
#                   CONFINE_REQUIRE_ALL (passed through from this environment when set)
#   --timeout S     kill the VM after S seconds, boot included (default $CONFINE_VM_TIMEOUT or 540)
#   --log FILE      the guest's console log (default: DIR/vm-console.log)
#   --quiet         do not copy the console to stderr as it runs (only its tail, on failure)
#   --append ARGS   more kernel command line words, e.g. "lsm=lockdown,capability,yama,apparmor"
#                   (a boot without Landlock, for the host matrix: docs/vm.md)
#
# Exit status: CMD's, as the guest recorded it; 125 if the harness failed (VM timed out, died, or
# recorded no status) with a message saying which. Environment: CONFINE_VM_CACHE (prepare.sh's
# cache), CONFINE_VM_MEMORY (2G), CONFINE_VM_CPUS (2). Run scripts/vm/prepare.sh first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${CONFINE_VM_CACHE:-/var/cache/confine-vm}
timeout_s=${CONFINE_VM_TIMEOUT:-540}
results=
cwd=$PWD
log=
quiet=0
extra_env=()
append=

say() { echo "vm/run: $*" >&2; }
die() { say "$*"; exit 125; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 125; }

while [ $# -gt 0 ]; do
  case "$1" in
    --results) results=$2; shift 2 ;;
    --cwd) cwd=$2; shift 2 ;;
    --env)
      case "$2" in [A-Za-z_]*=*) ;; *) die "--env wants NAME=VALUE, not '$2'" ;; esac
      extra_env+=("$2"); shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --append)
      case "$2" in *confine_vm.*|*init=*) die "--append may not set init= or confine_vm.*: '$2'" ;; esac
      append=$2; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || usage
case "$timeout_s" in ''|*[!0-9]*) die "--timeout wants whole seconds, not '$timeout_s'" ;; esac

# A path the guest sees as the host does: absolute, and not under a directory the guest mounts
# afresh (there it would silently be something else, or nothing).
checkout=$(cd "$here/../.." && pwd -P)
guest_visible() {
  case "$1" in
    # The checkout itself is bound back in the guest even when it lives under /tmp.
    "$checkout"|"$checkout"/*) return 0 ;;
    /tmp|/tmp/*|/run|/run/*|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*) return 1 ;;
    /*) return 0 ;;
    *) return 1 ;;
  esac
}
cmd=$1
case "$cmd" in /*) ;; *) die "CMD must be an absolute path on the host, not '$cmd'" ;; esac
[ -x "$cmd" ] || die "$cmd is not an executable file"
# Checked through its resolved path; passed as given (argv[0] matters to multi-call binaries).
guest_visible "$(realpath "$cmd")" || die "$cmd is under a directory the guest mounts afresh (/tmp, /run, /proc, /sys, /dev)"
cwd=$(realpath "$cwd")
guest_visible "$cwd" || die "working directory $cwd is not visible in the guest (it mounts /tmp, /run ... afresh)"
stage2=$(realpath "$here/init-stage2.sh")
guest_visible "$stage2" || die "$stage2 is not visible in the guest; keep the checkout out of /tmp"
case "$stage2" in *[[:space:]]*) die "$stage2 has white space, which the kernel command line cannot carry" ;; esac

for f in vmlinuz initramfs.cpio.gz; do
  [ -e "$cache/$f" ] || die "$cache/$f is missing; run scripts/vm/prepare.sh first"
done
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing; run scripts/vm/prepare.sh first"

if [ -z "$results" ]; then
  results=$(mktemp -d /var/tmp/confine-vm-results.XXXXXX)
fi
mkdir -p "$results"
results=$(realpath "$results")
case "$results" in /) die "--results / would share the whole root writable" ;; esac
log=${log:-$results/vm-console.log}

ctl=$(mktemp -d "${TMPDIR:-/tmp}/confine-vm-ctl.XXXXXX")
trap 'rm -rf "$ctl"' EXIT

env_list=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb)
[ -n "${CONFINE_REQUIRE_ALL+set}" ] && env_list+=("CONFINE_REQUIRE_ALL=$CONFINE_REQUIRE_ALL")
env_list+=("${extra_env[@]}")
# NUL-separated, so arguments may hold any byte but NUL; stage 2 reads them with mapfile -d ''.
printf '%s\0' "$cmd" "${@:2}" >"$ctl/argv"
printf '%s\0' "${env_list[@]}" >"$ctl/env"
echo "$cwd" >"$ctl/cwd"
echo "$results" >"$ctl/results-path"

share() {  # tag path [readonly]
  echo "local,path=$2,mount_tag=$1,security_model=none,multidevs=remap${3:+,readonly=on}"
}
qemu=(qemu-system-x86_64 -accel tcg -cpu max -m "${CONFINE_VM_MEMORY:-2G}" -smp "${CONFINE_VM_CPUS:-2}"
      -nographic -no-reboot -nic none
      -kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio.gz"
      -append "console=ttyS0 panic=-1 quiet loglevel=4 confine_vm.stage2=$stage2${append:+ $append}"
      -virtfs "$(share host / ro)" -virtfs "$(share ctl "$ctl")" -virtfs "$(share results "$results")")

say "booting ($(cat "$cache/kernel-package" 2>/dev/null || echo kernel), TCG, timeout ${timeout_s}s); console log: $log"
start_ns=$(date +%s%N)
set +e
# stdin is not the terminal: with -nographic, qemu would put a terminal in raw mode.
if [ "$quiet" -eq 1 ]; then
  timeout -k 5 "$timeout_s" "${qemu[@]}" </dev/null >"$log" 2>&1
  qemu_status=$?
else
  timeout -k 5 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tee "$log" >&2
  qemu_status=${PIPESTATUS[0]}
fi
set -e
wall_s=$(( ($(date +%s%N) - start_ns) / 1000000 ))
wall_s=$(printf '%d.%03d' $((wall_s / 1000)) $((wall_s % 1000)))

boot_s=$(cat "$ctl/boot-seconds" 2>/dev/null || echo '?')
end_s=$(cat "$ctl/end-seconds" 2>/dev/null || echo '?')
{
  echo "boot_seconds=$boot_s"
  echo "command_end_seconds=$end_s"
  echo "vm_wall_seconds=$wall_s"
} >"$results/vm-timing.txt"

fail_with_tail() {
  say "$*"
  if [ "$quiet" -eq 1 ]; then
    say "last lines of the console ($log):"
    tail -n 30 "$log" >&2
  fi
  exit 125
}
if [ "$qemu_status" -eq 124 ] || [ "$qemu_status" -eq 137 ]; then
  fail_with_tail "TIMEOUT: the VM did not finish within ${timeout_s}s and was killed (boot reached: ${boot_s}s; see $log)"
fi
if [ ! -s "$ctl/exit-code" ]; then
  why=$(cat "$ctl/guest-error" 2>/dev/null || true)
  fail_with_tail "the guest recorded no exit code (qemu exited with $qemu_status${why:+; guest: $why}); see $log"
fi
status=$(cat "$ctl/exit-code")
case "$status" in ''|*[!0-9]*) fail_with_tail "the guest recorded a malformed exit code '$status'" ;; esac
say "exit code $status; guest uptime at command start ${boot_s}s, at command end ${end_s}s; VM wall time ${wall_s}s; results in $results"
exit "$status"
