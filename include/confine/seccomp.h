// Seccomp: named syscall groups, their resolution against a policy, and compilation to BPF.
//
// Everything here runs in the parent. The child only receives the finished BPF program (as
// bytes) and installs it with the seccomp(2) syscall; it never calls libseccomp.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confine/child.h"
#include "confine/error.h"
#include "confine/fd.h"
#include "confine/policy.h"

namespace confine::seccomp {

// A named, documented set of syscalls that policies reference as "@name".
struct Group {
  std::string_view name;                  // without the "@"
  std::string_view description;           // one line: what it is and why it is dangerous or needed
  std::vector<std::string_view> members;  // syscall names or "@group" names
};

// Every group, in a stable order (documented in docs/seccomp.md).
[[nodiscard]] const std::vector<Group>& groups();
[[nodiscard]] const Group* find_group(std::string_view name);  // name without "@"
// True when libseccomp knows `name` as a syscall on the native architecture or on any
// architecture it supports (a name that exists elsewhere is accepted; it just never matches).
[[nodiscard]] bool is_known_syscall(std::string_view name);
// Expands names and @groups (recursively) into sorted, unique syscall names.
[[nodiscard]] Expected<std::vector<std::string>> expand(const std::vector<std::string>& names);
// The closest group or syscall name to `name`, for "did you mean" hints; empty if none is close.
[[nodiscard]] std::string suggest(std::string_view name);

struct Action {
  policy::SeccompAction kind = policy::SeccompAction::kAllow;
  int errno_value = 0;  // meaningful for kErrno
  bool log = false;     // kErrno: confine is told of each call and names it in the report
  bool operator==(const Action&) const = default;
};

// The policy's rules flattened: one action per syscall, later rules winning.
struct Resolved {
  Action default_action;
  std::map<std::string, Action> syscalls;
};
[[nodiscard]] Expected<Resolved> resolve(const policy::Policy::Seccomp& seccomp);

// A compiled filter: classic BPF instructions ready for SECCOMP_SET_MODE_FILTER.
struct Program {
  std::vector<sock_filter> instructions;
  // Human-readable summary of the built-in rules and the resolved ones, for plan rendering.
  std::vector<std::string> summary;
  // Denials return SECCOMP_RET_USER_NOTIF instead of their action (CompileOptions::notify): the
  // target is installed with a listener that the parent's reaper watches, and the reaper decides
  // each call with the verdict program (the same rules compiled without notify). The
  // bad-architecture action still kills directly.
  bool notify = false;
};

// Which calls a filter hands to confine (SECCOMP_RET_USER_NOTIF) instead of deciding them itself.
enum class Notify {
  kNone,   // the filter decides everything
  kNamed,  // kills, errno rules with `log`, and the supervised calls (exit_group, execve, signals)
  kAudit,  // every denial (it only logs and continues them), and the supervised calls
  // `confine learn`: kills (the learning filter's default) notify, and confine records each call
  // and lets it run; errno rules are answered by the filter itself (io_uring while learning).
  kLearn,
};

// The built-in hardening a plan asks for, besides what compile() always adds.
struct CompileOptions {
  // Denials notify the reaper (Program::notify). Then exit_group, execve, execveat and the calls
  // that send signals notify too, so no thread parked on a violation can be ended before the
  // reaper has read it (a violation must never vanish from the report). And sendmsg on
  // kListenerHandoffFd is allowed whatever the policy says of sendmsg: the target hands its
  // listener to confine that way, right after installing the filter.
  Notify notify = Notify::kNone;
  // socket() and socketpair() accept only these address families (AF_*); every other domain
  // fails with EAFNOSUPPORT. Empty: no family rule.
  std::vector<int> socket_families;
  // socketpair()'s own list, when set (Landlock mode: socket() gets no AF_UNIX, socketpair does);
  // unset: socket_families for both.
  std::optional<std::vector<int>> socketpair_families;
  // chmod/fchmod/fchmodat(2), mkdir(at), mknod(at), creat and creating opens fail with EPERM when
  // the mode has S_ISUID or S_ISGID; openat2 gets ENOSYS (its mode is out of the filter's reach).
  bool deny_setid_modes = false;
  // fallocate with FALLOC_FL_KEEP_SIZE (blocks RLIMIT_FSIZE never sees) fails with EOPNOTSUPP.
  bool deny_fallocate_keep_size = false;
  // memfd_create, memfd_secret, shmget and msgget fail with ENOSYS: memory RLIMIT_AS cannot see,
  // for when the memory limit falls back to it.
  bool deny_unaccounted_memory = false;
  // Landlock mode: the metadata calls that take a path and that Landlock does not cover fail
  // with EPERM where the rules cannot: utimensat with a path (its fd form, futimens, stays), and
  // fchmodat2, setxattrat and removexattrat, newer than libseccomp's tables. The plan refuses
  // their named siblings (chmod, chown, setxattr, ...) through the resolved rules.
  bool deny_path_metadata = false;
  // Landlock mode: no pid namespace, so calls that name another process of the job's uid by pid
  // (or the whole uid) would reach the caller's: setpriority, ioprio_set, prlimit64,
  // sched_setaffinity, sched_setscheduler, sched_setparam and sched_setattr work only on the
  // calling process (pid 0; setpriority and ioprio_set also on its own process group), else EPERM.
  bool only_own_process = false;
  // Path syscalls (path_syscalls()) the rules allow notify confine too, which reads the path from
  // the caller's memory and lets the call run (SECCOMP_USER_NOTIF_FLAG_CONTINUE): how learn and
  // --audit see the paths a job tries. Under Notify::kLearn socket, socketpair, ioctl and
  // personality do as well (their families, requests and personas are recorded). Only with a
  // notify mode; never in a normal run, whose filter stays as it was.
  bool watch_paths = false;
};

// The syscalls that name a path (or list a directory through a descriptor), which watch_paths
// hands to confine: open, openat, execve, stat, access, mkdir, unlink, rename, chdir, getdents...
[[nodiscard]] const std::vector<std::string>& path_syscalls();
// The syscalls a learning filter lets through without asking confine (the cheap, pathless
// calls every program makes: read, write, mmap, futex...). Every learned allow-list has them.
[[nodiscard]] const std::vector<std::string>& learning_baseline();

// Builds the filter for the native architecture. Besides the policy's rules it always adds the
// built-in hardening: any foreign architecture (i386 int 0x80, x32) kills the process; clone3
// fails with ENOSYS so libc falls back to clone, whose flags a filter can inspect; clone with a
// CLONE_NEW* flag gets the action resolved for `unshare`; ioctl TIOCSTI and TIOCLINUX fail with
// EPERM, compared on the low 32 bits so high bits cannot smuggle them past the filter. The
// argument rules `options` asks for come on top (src/seccomp/hardening.cpp).
[[nodiscard]] Expected<Program> compile(const Resolved& resolved, const CompileOptions& options = {});

// The descriptor the target hands its seccomp listener over (sendmsg on it is always allowed by
// a notifying filter): child::kListenerHandoffFd.
inline constexpr int kListenerHandoffFd = child::kListenerHandoffFd;

// A cache of compiled filters, so a launch attaches a filter instead of building it (building
// costs about half a millisecond cold). Root only, in a directory only root can write (every
// directory on the way root's and not writable by others, the cache directory itself 0700);
// otherwise open() says there is none. Files are keyed by a SHA-256 over the resolved rules,
// the options, this build of confine (its GNU build id), libseccomp's version and the kernel
// release, and checked on load; anything unexpected is a miss. docs/seccomp.md has the rules.
class FilterCache {
 public:
  [[nodiscard]] static std::optional<FilterCache> open(const std::string& dir);
  // A cache held in this process's memory only: `confine batch` compiles each distinct filter
  // once for the whole batch, rootless too. remember() adds the same memory to a disk cache.
  [[nodiscard]] static FilterCache in_memory();
  void remember();
  [[nodiscard]] static std::string key(const Resolved& resolved, const CompileOptions& options,
                                       std::string_view kernel_release);
  [[nodiscard]] std::optional<Program> load(const std::string& key) const;
  void store(const std::string& key, const Program& program) const;  // best effort
  // The most files a disk cache keeps: a store that finds more removes the oldest (by mtime)
  // down to three quarters of this, and temporary files a crashed store left behind. Every
  // kernel upgrade and edited policy adds files no run will ask for again; without a bound the
  // directory only grew. A hot file removed this way is compiled and stored again once.
  static constexpr size_t kMaxFiles = 256;
  // The cached program for these rules, or compile() and store it.
  [[nodiscard]] Expected<Program> compile(const Resolved& resolved, const CompileOptions& options,
                                          std::string_view kernel_release) const;

  // A shortcut past resolve() and key() (a third of a batch job's plan; about 0.3 ms of a
  // run's): the program a policy's seccomp section compiled to before, found by a text naming
  // the section as written, the options, and `context` (whatever else shaped the rules). A cache
  // that remembers (in_memory(), remember()) keeps them in memory; a disk cache also stores each
  // under section_file_key(), so a later `confine run` finds it. A cache with neither has no
  // section keys: section_key() is empty, and recall() of an empty key finds nothing.
  [[nodiscard]] std::string section_key(const policy::Policy::Seccomp& section, const CompileOptions& options,
                                        std::string_view context) const;
  [[nodiscard]] std::optional<Program> recall(const std::string& section_key) const;
  void note(const std::string& section_key, const Program& program) const;
  [[nodiscard]] static std::string section_file_key(const std::string& section_key);

 private:
  FilterCache() = default;
  std::shared_ptr<UniqueFd> dir_;  // shared: copies of the cache (in a std::function) share it
  // Programs compiled or loaded by this process, by key (in_memory(), remember()); shared too.
  std::shared_ptr<std::map<std::string, Program>> memory_;
  // Programs by section_key(), for this process only (remember()); shared too.
  std::shared_ptr<std::map<std::string, Program>> sections_;
};

// Userspace evaluation of a compiled program against a fabricated syscall, for tests and for
// explaining what a filter does. Returns the SECCOMP_RET_* value.
struct FakeSyscall {
  uint32_t arch = 0;  // AUDIT_ARCH_*; 0 means the native architecture
  int32_t nr = 0;
  uint64_t args[6] = {0, 0, 0, 0, 0, 0};
};
[[nodiscard]] Expected<uint32_t> evaluate(const Program& program, const FakeSyscall& call);

// Address families by the names policies use (network.socket_families): "unix" is AF_UNIX,
// "vsock" AF_VSOCK, ... socket_family_name gives the number as text for one with no name.
[[nodiscard]] std::optional<int> socket_family(std::string_view name);
[[nodiscard]] std::string socket_family_name(int family);
[[nodiscard]] std::vector<std::string> socket_family_names();

// The native syscall number for `name`, or nullopt when there is none on this architecture.
[[nodiscard]] std::optional<int> syscall_number(std::string_view name);
// The name of native syscall `nr`, or "syscall_<nr>" when unknown.
[[nodiscard]] std::string syscall_name(int nr);

}  // namespace confine::seccomp
