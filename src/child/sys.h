// Thin, allocation-free wrappers for the syscalls the child uses that glibc 2.36 either lacks or
// declares in headers that conflict with the kernel's (<sys/mount.h> vs <linux/mount.h>).
// Each returns the raw result (-1 with errno set on failure), exactly like the syscall.
#pragma once

#include <linux/mount.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace confine::child::sys {

// The kernel's sigset_t is 64 bits on every Linux architecture confine builds for (glibc's is
// 1024 bits, of which the kernel reads this much): rt_sigprocmask and rt_sigtimedwait want it.
inline constexpr size_t kKernelSigsetBytes = 8;

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

// Signal sets and masks without glibc's sigemptyset, sigaddset, sigprocmask and sigwaitinfo,
// and strings without its strlen, strchr and strrchr. Why: the child reads confine's text
// through page table entries the clone did not copy (file-backed text is faulted in again, not
// copied), so each libc function it calls that lies in a 64 KiB stretch of text nothing else of
// the child touches costs a page fault, 15-20 us each on the VMs measured, seven of them for
// these. The raw calls behave as glibc's do here: the child never has glibc's internal
// signals (cancellation, setxid) blocked or pending, so there is nothing for them to filter.
inline void signals_clear(sigset_t& set) noexcept {
  for (auto& word : set.__val) word = 0;
}
inline void signals_add(sigset_t& set, int sig) noexcept {
  constexpr int kBits = 8 * sizeof set.__val[0];
  set.__val[(sig - 1) / kBits] |= 1UL << ((sig - 1) % kBits);
}
inline int signal_mask(int how, const sigset_t* set) noexcept {
  return static_cast<int>(::syscall(SYS_rt_sigprocmask, how, set, nullptr, kKernelSigsetBytes));
}
inline int signal_wait(const sigset_t& set, siginfo_t* info) noexcept {
  return static_cast<int>(::syscall(SYS_rt_sigtimedwait, &set, info, nullptr, kKernelSigsetBytes));
}
inline size_t length(const char* s) noexcept {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}
// The first (or last) `c` in `s`, or null.
inline char* find_first(char* s, char c) noexcept {
  for (; *s != '\0'; ++s) {
    if (*s == c) return s;
  }
  return nullptr;
}
inline char* find_last(char* s, char c) noexcept {
  char* found = nullptr;
  for (; *s != '\0'; ++s) {
    if (*s == c) found = s;
  }
  return found;
}

}  // namespace confine::child::sys
