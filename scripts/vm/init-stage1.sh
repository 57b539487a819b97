#!/bin/sh
# Stage 1 of the VM's boot: the initramfs's /init (busybox sh, copied in by prepare.sh).
#
# It loads the virtio and 9p modules, mounts the host's root (a read-only 9p share) and hands over
# to stage 2 (scripts/vm/init-stage2.sh, read from that share) with switch_root. switch_root
# rather than chroot: the kernel refuses CLONE_NEWUSER to a process whose root is not its mount
# namespace's root (a chroot), and confine needs user namespaces.
#
# Whatever goes wrong, power off: if PID 1 exits, the kernel panics and, with panic=-1 and
# -no-reboot, qemu stops; poweroff is the tidy way and gives the same result to the host, which
# then finds no exit code and says so.
export PATH=/bin

fail() {
  echo "confine-vm stage1: $*" >&2
  echo o >/proc/sysrq-trigger
  sleep 30
  exit 1
}

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"

# In dependency order (the package ships no modules.dep: depmod runs at install time).
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         netfs fscache 9pnet 9pnet_virtio 9p; do
  insmod "/modules/$m.ko" || fail "insmod $m failed"
done

# The command line is words (run.sh refuses a stage 2 path with white space); no globbing.
set -f
stage2=
# shellcheck disable=SC2013
for word in $(cat /proc/cmdline); do
  case "$word" in
    confine_vm.stage2=*) stage2=${word#confine_vm.stage2=} ;;
  esac
done
[ -n "$stage2" ] || fail "no confine_vm.stage2= on the kernel command line"

mkdir -p /newroot
# msize: 9p's default 8 KiB messages make reading binaries slow; 512 KiB is what virtio allows.
# cache=loose: without a cache, 9p gives a file a new inode at every lookup, and Landlock's rules
# belong to inodes: a rule on a host file (Landlock mode's rules on the siblings of a denied
# path) would never match the file the job then opens. The share is read-only and the host
# does not change it during a run, so nothing stale can be seen.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose,ro host /newroot ||
  fail "mount the host root (9p tag host)"
[ -x "/newroot$stage2" ] || fail "stage 2 $stage2 is missing or not executable in the host root"

# Keep the devtmpfs: the host's /dev seen through 9p is device nodes on another machine.
mount --move /dev /newroot/dev || fail "move /dev"
umount /proc /sys 2>/dev/null
exec switch_root /newroot /bin/bash "$stage2"
