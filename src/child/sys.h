// Thin, allocation-free wrappers for the syscalls the child uses that glibc 2.36 either lacks or
// declares in headers that conflict with the kernel's (<sys/mount.h> vs <linux/mount.h>).
// Each returns the raw result (-1 with errno set on failure), exactly like the syscall.
#pragma once

#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace confine::child::sys {

#ifndef MNT_DETACH
inline constexpr int kMntDetach = 2;
#else
inline constexpr int kMntDetach = MNT_DETACH;
#endif

inline int open_tree(int dfd, const char* path, unsigned flags) noexcept {
  return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}
inline int move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) noexcept {
  return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}
inline int mount_setattr(int dfd, const char* path, unsigned flags, mount_attr* attr) noexcept {
  return static_cast<int>(::syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr)));
}
inline int fsopen(const char* fs, unsigned flags) noexcept {
  return static_cast<int>(::syscall(SYS_fsopen, fs, flags));
}
inline int fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) noexcept {
  return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
inline int fsmount(int fd, unsigned flags, unsigned attrs) noexcept {
  return static_cast<int>(::syscall(SYS_fsmount, fd, flags, attrs));
}
inline int mount(const char* src, const char* dst, const char* type, unsigned long flags, const void* data) noexcept {
  return static_cast<int>(::syscall(SYS_mount, src, dst, type, flags, data));
}
inline int umount2(const char* target, int flags) noexcept {
  return static_cast<int>(::syscall(SYS_umount2, target, flags));
}
inline int pivot_root(const char* new_root, const char* put_old) noexcept {
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}
inline int openat2(int dfd, const char* path, open_how* how) noexcept {
  return static_cast<int>(::syscall(SYS_openat2, dfd, path, how, sizeof(*how)));
}
inline int close_range(unsigned first, unsigned last, unsigned flags) noexcept {
  return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

}  // namespace confine::child::sys
