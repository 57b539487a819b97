// The child half of the clone: the image it runs from and the record it reports failure with.
//
// Everything here is plain data prepared by the parent (launch::ImageBuilder) before clone: the
// child only reads it and makes syscalls. No std::string, no vectors, nothing that allocates or
// throws; pointers point into storage the parent keeps alive (the child has a copy-on-write copy
// of it).
#pragma once

#include <linux/filter.h>
#include <sched.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace confine::child {

enum class MountKind : uint8_t {
  kBind,      // source tree cloned with open_tree before the ids change, then moved in
  kTmpfs,     // fresh tmpfs with `size` and `mode`
  kDev,       // tmpfs with the five safe device nodes bound in, fd links, read-only after
  kProc,      // procfs of the sandbox's pid namespace
  kSymlink,   // symlink at target with text `source`
  kMaskDir,   // empty, read-only, mode 000 tmpfs
  kMaskFile,  // /dev/null bound with nodev: exists, but every open fails with EACCES
};

struct MountStep {
  MountKind kind = MountKind::kBind;
  bool read_only = true;
  bool is_dir = true;            // the mountpoint to create is a directory (else a file)
  const char* source = nullptr;  // host path (kBind), link text (kSymlink)
  const char* target = nullptr;  // path inside the new root, without the leading "/"
  const char* size = nullptr;    // tmpfs size in bytes, decimal (kTmpfs, kDev, kMaskDir)
  const char* mode = nullptr;    // tmpfs root mode, octal (kTmpfs, kDev, kMaskDir)
  const char* inodes = nullptr;  // tmpfs nr_inodes, decimal (kTmpfs, kDev, kMaskDir)
  uint64_t landlock_access = 0;  // Landlock rule on this mount's root; 0 = none
  bool output_area = false;      // kTmpfs: the output area, whose mount goes to the parent
};

// The Landlock ruleset (plan::LandlockRuleset): created before the first bind source is opened,
// filled as the mounts are made, enforced by the init once the root is built. abi 0 = none.
struct LandlockImage {
  int abi = 0;
  uint64_t handled_fs = 0;
  uint64_t handled_net = 0;
  uint64_t scoped = 0;
  uint64_t root_access = 0;      // rule on the new root tmpfs
  uint64_t dev_node_access = 0;  // rule on each of the kDevNodes
};

// Where the target moves its notify socket to hand the seccomp listener to the parent: the one
// descriptor a notifying filter lets sendmsg use whatever the policy says (seccomp.h). Above
// RLIMIT_NOFILE of every shipped policy, so the job itself never opens a descriptor there.
inline constexpr int kListenerHandoffFd = 1023;
// Landlock mode (plan::Isolation::kLandlock, child/direct.cpp): no namespaces, so the rules go
// on the host's own paths, which the target opens itself (plan::DirectRule).
struct DirectRule {
  const char* path = nullptr;
  uint64_t access = 0;
  bool optional = false;  // gone since planning (ENOENT): skipped
};

// The signal that tells Landlock mode's init to kill the job's whole process tree and exit: sent
// by confine's reaper (instead of SIGKILL, which the init could not act on) and by the kernel
// when confine dies (the init's parent-death signal). A real-time signal nothing else uses.
inline constexpr int kDirectKillSignal = 40;

// Upper bound on mount steps, so the child can keep per-step state in fixed stack arrays.
inline constexpr size_t kMaxMountSteps = 512;

// A per-user-namespace limit: `value` written to /proc/sys/user/`path`.
struct Sysctl {
  const char* path = nullptr;  // the name in /proc/sys/user
  const char* value = nullptr;
  size_t value_len = 0;
};
inline constexpr size_t kMaxSysctls = 32;

struct Rlimit {
  int resource = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// The five device nodes a minimal /dev gets, bound from the host (mknod is not allowed in a user
// namespace, and binding keeps them the real devices).
inline constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom"};
inline constexpr size_t kDevNodeCount = sizeof(kDevNodes) / sizeof(kDevNodes[0]);

// Checkpoints the child stamps with CLOCK_MONOTONIC into a page shared with the parent, so the
// report can say how long each setup step took (clock_gettime is a vDSO call, not a syscall).
enum class Mark : uint8_t {
  kStarted, kParentReady, kSourcesOpened, kIdsSwitched, kRootBuilt, kNetworkUp, kPrivilegesDropped,
  kForked, kTargetPrivilegesDropped, kFilterInstalled,
  // Not a setup step: the init reaped the target. From here to the parent seeing the init gone
  // is the sandbox's own teardown (the kernel unmounting the new root, dropping namespaces).
  kTargetExited, kCount,
};
// The marks that end setup phases (kMarkNames names the phase that ends at the next mark).
inline constexpr size_t kSetupMarkCount = static_cast<size_t>(Mark::kTargetExited);
inline constexpr const char* kMarkNames[] = {
    "child_start", "child_wait_maps", "child_open_sources", "child_switch_ids", "child_build_root",
    "child_hostname_loopback", "child_drop_privileges", "child_fork_target", "target_drop_privileges",
    "target_seccomp", "target_exited",
};
static_assert(sizeof(kMarkNames) / sizeof(kMarkNames[0]) == static_cast<size_t>(Mark::kCount));

struct Image {
  // Filesystem.
  const MountStep* mounts = nullptr;
  size_t mount_count = 0;
  const char* root_parent = "/tmp";  // existing directory the new root tmpfs is attached to
  const char* root_inodes = "1024";  // nr_inodes of the new root tmpfs: its mountpoints, no more

  // Identity and namespaces.
  uint32_t uid = 0, gid = 0;
  const Sysctl* sysctls = nullptr;  // limits for the job's own user namespace
  size_t sysctl_count = 0;
  bool new_net = true;
  const char* hostname = nullptr;
  size_t hostname_len = 0;
  const char* cwd = "/";

  // Process.
  const Rlimit* rlimits = nullptr;
  size_t rlimit_count = 0;
  uint64_t keep_caps = 0;
  int cap_last = 40;  // /proc/sys/kernel/cap_last_cap, read by the parent
  const sock_fprog* seccomp = nullptr;  // null when the plan has no filter
  LandlockImage landlock;

  // Landlock mode (launch picks run_direct() instead of run() from the plan): no namespaces, no
  // mounts. switch_ids: run by root, the target empties its bounding set and becomes uid/gid with
  // no supplementary groups.
  const DirectRule* direct_rules = nullptr;
  size_t direct_rule_count = 0;
  bool switch_ids = false;

  // What runs.
  const char* exec_path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;

  // The job's stdin, stdout and stderr (launch::Relay's pipes or pty, /dev/null): the init puts
  // them at 0, 1 and 2 first thing, so no process of the sandbox ever holds the caller's.
  int stdio[3] = {-1, -1, -1};

  // Pipes to the parent. sync_fd: the parent writes one byte once the id maps are written, or
  // closes it to abort. error_fd: failure records; end-of-file with none means exec succeeded.
  // status_fd: the init writes the target's wait status when it ends.
  int sync_fd = -1;
  int error_fd = -1;
  int status_fd = -1;
  // When the filter notifies instead of killing (seccomp::Program::notify): a unix socket on
  // which the target sends its seccomp listener fd to the parent right after installing the
  // filter. -1 otherwise.
  int notify_fd = -1;
  // With an output area: a unix socket on which the init hands the area's mount to the parent
  // once the root is built (the parent copies its files out after the job). -1 otherwise.
  int output_fd = -1;
  // kCount slots in a MAP_SHARED page, nanoseconds since boot (CLOCK_MONOTONIC); null = off.
  uint64_t* marks = nullptr;
  // The caller's CPU affinity, restored in the target before its execve (the launcher keeps
  // confine, the init and the target on one CPU while they set up). Null: leave it alone.
  const cpu_set_t* affinity = nullptr;
  size_t affinity_size = 0;
  // The signals whose disposition the target sets back to SIG_DFL before its execve: bit n-1
  // for signal n. The parent sets it to the signals it ignores or catches (SigIgn | SigCgt of
  // /proc/self/status, read just before the clone); every other one is SIG_DFL in the parent
  // and so in the init and the target already, and setting it again changed nothing but cost a
  // syscall each, 62 of them per launch. All ones (the default): every signal, as before.
  uint64_t reset_signals = ~uint64_t{0};
  // The mapping that holds this image (launch::ImageCopy; confine's heap is not in the child at
  // all). Once the target runs, the init needs none of it and unmaps it, keeping only what
  // supervision reads: the init holds no copy of the plan, argv or environment while it runs
  // beside the job. Zero bytes: keep everything.
  uintptr_t release_begin = 0;
  size_t release_bytes = 0;
};

// Stamps `mark` (a vDSO clock read: no syscall, no allocation).
void stamp(const Image& image, Mark mark) noexcept;

// Steps that can fail, reported with an index (the mount step, rlimit, ...) and errno.
enum class Step : uint16_t {
  kDeathSignal, kWaitParent, kPropagation, kOpenTree, kSetIds, kRootTmpfs, kMountpoint,
  kMount, kMountAttr, kSymlink, kProc, kDev, kRootReadOnly, kPivotRoot, kHostname, kLoopback,
  kFork, kSetsid, kDevNode, kRlimit, kChdir, kCloseFds, kSecurebits, kBoundingSet, kCapabilities,
  kNoNewPrivs, kSeccomp, kSignalMask, kAffinity, kExec, kStdio, kUcounts,
  // Landlock: the ruleset, a rule (index: the mount step; mount_count for the new root), and
  // landlock_restrict_self.
  kLandlockRuleset, kLandlockRule, kLandlockRestrict, kOutputArea,
  // Landlock mode's init: becoming the job's child subreaper.
  kSubreaper,
};
[[nodiscard]] const char* step_name(Step step) noexcept;

struct ErrorRecord {
  uint32_t magic = kMagic;
  Step step = Step::kExec;
  uint16_t index = 0;
  int32_t sys_errno = 0;
  static constexpr uint32_t kMagic = 0x636f6e66;  // "conf"
};
static_assert(sizeof(ErrorRecord) == 12, "the record is written and read as raw bytes");

// Entered in the cloned child (pid 1 of the new pid namespace). Never returns.
[[noreturn]] void run(const Image& image) noexcept;
// Landlock mode's child: the job's init on the host, without namespaces. Never returns.
[[noreturn]] void run_direct(const Image& image) noexcept;

}  // namespace confine::child
