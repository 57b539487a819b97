#!/bin/bash
# Prepares the VM that runs confine's cgroup-v2 tests (see docs/vm.md):
#   - installs qemu-system-x86, busybox-static and cpio with apt-get if any is missing;
#   - downloads Debian's current kernel package (the one linux-image-amd64 depends on), without
#     installing it, and keeps its vmlinuz and the ten virtio/9p modules the guest needs;
#   - builds the initramfs: busybox, those modules and scripts/vm/init-stage1.sh as /init.
#
#   scripts/vm/prepare.sh
#
# Everything goes to ${CONFINE_VM_CACHE:-/var/cache/confine-vm}: kernels/<package>/ and, for
# run.sh, the fixed names vmlinuz and initramfs.cpio.gz. A second run only re-resolves the package
# name (apt-cache, local) and compares a key; it downloads or rebuilds only what changed.
# CONFINE_VM_KERNEL_PACKAGE=linux-image-6.1.0-NN-amd64 pins the kernel. Needs root (apt-get).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${CONFINE_VM_CACHE:-/var/cache/confine-vm}
# In dependency order; init-stage1.sh loads them in this order too.
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
         netfs fscache 9pnet 9pnet_virtio 9p)
# The busybox applets stage 1 uses.
applets=(sh mount umount insmod mkdir cat sleep switch_root)

say() { echo "vm/prepare: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and writes $cache)"

# --- host packages -------------------------------------------------------------------------
ensure_packages() {  # installs those of its arguments that are not installed
  local need=() pkg
  for pkg in "$@"; do
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
      need+=("$pkg")
    fi
  done
  [ "${#need[@]}" -gt 0 ] || return 0
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${need[@]}" >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends "${need[@]}" >&2
  fi
}
ensure_packages qemu-system-x86 busybox-static cpio

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # two prepares at once (parallel CI jobs) would race on the same files

# --- the kernel package ----------------------------------------------------------------------
resolve_kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}
pkg=${CONFINE_VM_KERNEL_PACKAGE:-$(resolve_kernel_package)}
if [ -z "$pkg" ]; then
  say "apt-cache does not know linux-image-amd64; running apt-get update"
  apt-get update >&2
  pkg=$(resolve_kernel_package)
fi
[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 to a versioned kernel package"
case "$pkg" in
  linux-image-*) ;;
  *) die "unexpected kernel package name '$pkg'" ;;
esac

kdir="$cache/kernels/$pkg"
if [ ! -e "$kdir/complete" ]; then
  say "downloading $pkg"
  rm -rf "$kdir" "$cache/download"
  mkdir -p "$cache/download" "$kdir/modules"
  # apt-get download writes to the current directory. _apt cannot write a root-owned 0755
  # cache, so apt would warn and download as root anyway; say so up front instead.
  (cd "$cache/download" && apt-get -o APT::Sandbox::User=root download "$pkg" >&2)
  deb=$(find "$cache/download" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
  [ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
  dpkg-deb -x "$deb" "$cache/download/root"
  vmlinuz=$(find "$cache/download/root/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
  [ -n "$vmlinuz" ] || die "$pkg has no /boot/vmlinuz-*"
  cp "$vmlinuz" "$kdir/vmlinuz"
  for m in "${modules[@]}"; do
    # Debian 12 ships plain .ko; later releases compress them. Decompress here, so stage 1
    # needs nothing beyond busybox insmod.
    f=$(find "$cache/download/root/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" |
        head -n 1)
    [ -n "$f" ] || die "$pkg has no module $m"
    case "$f" in
      *.ko) cp "$f" "$kdir/modules/$m.ko" ;;
      *.ko.xz) ensure_packages xz-utils; xz -dc "$f" >"$kdir/modules/$m.ko" ;;
      *.ko.zst) ensure_packages zstd; zstd -qdc "$f" >"$kdir/modules/$m.ko" ;;
    esac
  done
  # Only the kernel and ten modules are kept: the unpacked package is hundreds of MB.
  rm -rf "$cache/download"
  echo "$pkg" >"$kdir/complete"
fi

# --- the initramfs ---------------------------------------------------------------------------
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox is missing (package busybox-static)"
key=$( { echo "$pkg"; sha256sum "$here/init-stage1.sh" "$busybox"; printf '%s\n' "${applets[@]}"; } |
       sha256sum | cut -d' ' -f1)
if [ "$(cat "$cache/initramfs.key" 2>/dev/null)" != "$key" ] || [ ! -e "$cache/initramfs.cpio.gz" ] ||
   [ ! -e "$cache/vmlinuz" ]; then
  say "building the initramfs for $pkg"
  stage=$(mktemp -d "$cache/initramfs.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage"/{bin,dev,proc,sys,newroot,modules}
  cp "$busybox" "$stage/bin/busybox"
  for a in "${applets[@]}"; do ln -s busybox "$stage/bin/$a"; done
  cp "$kdir"/modules/*.ko "$stage/modules/"
  install -m 0755 "$here/init-stage1.sh" "$stage/init"
  # The kernel opens /dev/console for init's stdio before anything is mounted.
  mknod -m 0600 "$stage/dev/console" c 5 1
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -9n) \
    >"$cache/initramfs.cpio.gz.tmp"
  cp "$kdir/vmlinuz" "$cache/vmlinuz.tmp"
  mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
  mv "$cache/initramfs.cpio.gz.tmp" "$cache/initramfs.cpio.gz"
  echo "$key" >"$cache/initramfs.key"
  echo "$pkg" >"$cache/kernel-package"
fi

# Kernels this script no longer points at: drop them, they are ~10 MB each.
for old in "$cache"/kernels/*; do
  [ -d "$old" ] && [ "$old" != "$kdir" ] && rm -rf "$old"
done
say "ready: $pkg, $cache/vmlinuz, $cache/initramfs.cpio.gz"
