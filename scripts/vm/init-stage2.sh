#!/bin/bash
# Stage 2 of the VM's boot: PID 1 in the guest, after switch_root into the host's root (a read-only
# 9p share). stage1 (the initramfs) finds this file through confine_vm.stage2= on the kernel
# command line; run.sh puts it there.
#
# It gives the guest the mounts a test host has (proc, sysfs, tmpfs /tmp and /run, devpts, and a
# cgroup2 hierarchy with every controller at /sys/fs/cgroup), mounts the control share (argv, env,
# cwd from run.sh; exit code back) and the results share (at the same path as on the host), runs
# the command, records its exit status and powers off.
#
# PID 1 must never exit (the kernel would panic); it powers off through sysrq and then waits.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ctl=/run/confine-vm
p9='trans=virtio,version=9p2000.L,msize=524288'

power_off() {
  sync
  echo o >/proc/sysrq-trigger
  while :; do sleep 60; done
}

fail() {
  echo "confine-vm stage2: $*" >&2
  # run.sh reads this back; the host's own message then says why there is no exit code.
  [ -d "$ctl" ] && echo "$*" >"$ctl/guest-error" 2>/dev/null
  power_off
}

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
# The guest's /sys is the 9p view of the host's, whose /sys/fs/cgroup holds the host's v1
# hierarchies: the fresh sysfs above hides all of that, and the kernel's own /sys/fs/cgroup mount
# point is where the guest's cgroup2 goes. The options are systemd's, so confine meets what it
# meets on a systemd host.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
# A checkout under /tmp (CI may clone there) would vanish under the guest's fresh /tmp: keep the
# host's /tmp reachable at /mnt first, then bind the checkout back at its own path, read-only
# like the rest of the host root.
checkout=$(cd "$(dirname "$0")/../.." && pwd -P)
case "$checkout" in
  /tmp/*) mount --bind /tmp /mnt || fail "bind the host's /tmp at /mnt" ;;
esac
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp || fail "mount /tmp"
case "$checkout" in
  /tmp/*)
    mkdir -p "$checkout" && mount --bind "/mnt/${checkout#/tmp/}" "$checkout" ||
      fail "bind the checkout $checkout back over the guest's /tmp"
    ;;
esac
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || fail "mount /run"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ip link set lo up 2>/dev/null

mkdir -p "$ctl"
mount -t 9p -o "$p9" ctl "$ctl" || fail "mount the control share (9p tag ctl)"
read -r results <"$ctl/results-path" || fail "no results-path in the control share"
read -r cwd <"$ctl/cwd" || fail "no cwd in the control share"
# Under /tmp (a fresh tmpfs) the mount point must be made; elsewhere it already exists, as the
# host's own directory seen through the read-only root.
mkdir -p "$results" 2>/dev/null
mount -t 9p -o "$p9" results "$results" || fail "mount the results share at $results"

mapfile -d '' argv <"$ctl/argv"
mapfile -d '' envv <"$ctl/env"
[ "${#argv[@]}" -gt 0 ] || fail "empty argv in the control share"
cd "$cwd" || fail "cannot enter the working directory $cwd"

read -r up _ </proc/uptime
echo "$up" >"$ctl/boot-seconds"
echo "confine-vm: guest up after ${up}s; cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)" >&2
echo "confine-vm: running ${argv[*]} (cwd $cwd)" >&2

# Not exec: PID 1 has to outlive the command to report its status. stdin is not the console.
env -i "${envv[@]}" "${argv[@]}" </dev/null
status=$?

read -r up _ </proc/uptime
echo "$up" >"$ctl/end-seconds"
echo "$status" >"$ctl/exit-code.tmp" && mv "$ctl/exit-code.tmp" "$ctl/exit-code"
echo "confine-vm: command exited with status $status at ${up}s" >&2
umount "$results" "$ctl" 2>/dev/null
power_off
