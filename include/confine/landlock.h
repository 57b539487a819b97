// Landlock, as confine uses it: the second wall under the mount namespace (docs/security.md).
//
// Landlock (Linux 5.13+, Documentation/userspace-api/landlock.rst) is the kernel's unprivileged,
// stackable allow-list: a process restricts itself and its future children to the file
// hierarchies it names, each with a set of access rights; everything else it "handles" is
// denied. Rules attach to inodes and apply to everything beneath a directory, so they cannot
// deny a path under an allowed tree (masks stay mount-based).
//
// This header is the kernel's interface as confine needs it, in plain constexpr data that both
// the planner (which compiles the rules from the mounts) and the child (which applies them with
// three syscalls, no allocation) include. It is declared here rather than taken from
// <linux/landlock.h> because Debian 12's copy (Linux 6.1) stops at ABI 2: no truncate, device
// ioctl, network or scope fields. Values are the kernel's (include/uapi/linux/landlock.h).
#pragma once

#include <cstdint>

namespace confine::landlock {

// The newest ABI confine knows. A newer kernel is used at this ABI: rights added after it are
// not handled, so they stay allowed exactly as on a kernel of this ABI, and nothing fails.
inline constexpr int kKnownAbi = 7;

// Filesystem access rights (LANDLOCK_ACCESS_FS_*), with the ABI that introduced each.
inline constexpr uint64_t kExecute = 1ULL << 0;
inline constexpr uint64_t kWriteFile = 1ULL << 1;
inline constexpr uint64_t kReadFile = 1ULL << 2;
inline constexpr uint64_t kReadDir = 1ULL << 3;
inline constexpr uint64_t kRemoveDir = 1ULL << 4;
inline constexpr uint64_t kRemoveFile = 1ULL << 5;
inline constexpr uint64_t kMakeChar = 1ULL << 6;
inline constexpr uint64_t kMakeDir = 1ULL << 7;
inline constexpr uint64_t kMakeReg = 1ULL << 8;
inline constexpr uint64_t kMakeSock = 1ULL << 9;
inline constexpr uint64_t kMakeFifo = 1ULL << 10;
inline constexpr uint64_t kMakeBlock = 1ULL << 11;
inline constexpr uint64_t kMakeSym = 1ULL << 12;
inline constexpr uint64_t kRefer = 1ULL << 13;     // ABI 2: rename and link across directories
inline constexpr uint64_t kTruncate = 1ULL << 14;  // ABI 3
inline constexpr uint64_t kIoctlDev = 1ULL << 15;  // ABI 5: ioctl on an opened device
// Network (LANDLOCK_ACCESS_NET_*), ABI 4.
inline constexpr uint64_t kBindTcp = 1ULL << 0;
inline constexpr uint64_t kConnectTcp = 1ULL << 1;
// Scopes (LANDLOCK_SCOPE_*), ABI 6: IPC that may not leave the process's Landlock domain.
inline constexpr uint64_t kScopeAbstractUnixSocket = 1ULL << 0;
inline constexpr uint64_t kScopeSignal = 1ULL << 1;

// The only rights a rule on a non-directory may carry (the kernel refuses others with EINVAL).
inline constexpr uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;

// Rights by role (the planner masks each with what the ABI handles):
// reading and running what is there;
inline constexpr uint64_t kReadOnly = kReadFile | kReadDir | kExecute;
// changing a tree: every file operation except creating device nodes (binds and tmpfs are
// nodev, and the sandbox has no CAP_MKNOD), including rename and link within it (REFER);
inline constexpr uint64_t kReadWrite = kReadOnly | kWriteFile | kRemoveDir | kRemoveFile | kMakeDir | kMakeReg |
                                       kMakeSock | kMakeFifo | kMakeSym | kRefer | kTruncate;
// the five device nodes of the minimal /dev: read, write, and their ioctls (isatty's TCGETS);
inline constexpr uint64_t kDevice = kReadFile | kWriteFile | kIoctlDev;
// a fresh procfs: read, and write the files a process may write about itself.
inline constexpr uint64_t kProc = kReadFile | kReadDir | kWriteFile | kTruncate;

// What an ABI version handles. 0 for no Landlock at all.
constexpr uint64_t fs_rights(int abi) {
  if (abi < 1) return 0;
  uint64_t rights = (1ULL << 13) - 1;  // ABI 1: execute .. make_sym
  if (abi >= 2) rights |= kRefer;
  if (abi >= 3) rights |= kTruncate;
  if (abi >= 5) rights |= kIoctlDev;
  return rights;
}
constexpr uint64_t net_rights(int abi) { return abi >= 4 ? kBindTcp | kConnectTcp : 0; }
constexpr uint64_t scopes(int abi) { return abi >= 6 ? kScopeAbstractUnixSocket | kScopeSignal : 0; }

// How to get Landlock on a host without it: for the plan's error and `confine doctor`.
inline constexpr const char* kEnableFix =
    "boot a kernel with Landlock (Linux 5.13+, CONFIG_SECURITY_LANDLOCK=y) that has landlock in its LSM list: "
    "add it to the lsm= boot parameter, e.g. lsm=landlock,lockdown,yama,apparmor,bpf "
    "(cat /sys/kernel/security/lsm shows the active list), and reboot";

// The kernel's structures and constants. RulesetAttr is the ABI 6 layout; an older kernel takes
// it too, as long as the fields it does not know are zero (copy_struct_from_user).
struct RulesetAttr {
  uint64_t handled_access_fs = 0;
  uint64_t handled_access_net = 0;
  uint64_t scoped = 0;
};
struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access = 0;
  int32_t parent_fd = -1;
};
inline constexpr int kRulePathBeneath = 1;                // LANDLOCK_RULE_PATH_BENEATH
inline constexpr unsigned kCreateRulesetVersion = 1U << 0;  // LANDLOCK_CREATE_RULESET_VERSION

}  // namespace confine::landlock
