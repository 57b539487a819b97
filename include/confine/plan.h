// The plan: policy intent turned into mechanism, computed entirely in the parent.
//
// make_plan resolves every path, orders every mount, computes capability masks, compiles the
// seccomp program, builds the final envp and the absolute exec path, and decides per protection
// whether this host enforces it. A required protection the host cannot enforce is an error here
// (fail closed); a best-effort one is recorded as skipped with the reason. The result is
// immutable and is all the child ever reads.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "confine/error.h"
#include "confine/policy.h"
#include "confine/report.h"
#include "confine/seccomp.h"

namespace confine::plan {

enum class FileKind { kMissing, kDirectory, kRegular, kSymlink, kCharDevice, kOther };

// One entry of a directory listing (HostFacts::list_directory): its name and lstat kind.
struct DirEntry {
  std::string name;
  FileKind kind = FileKind::kMissing;
};

// What the host is and can do, probed once (host::probe) and passed in so tests can fake it.
struct HostFacts {
  uid_t euid = 0;
  gid_t egid = 0;
  std::string kernel_release;
  bool user_namespaces = true;  // this user may create user namespaces (by the sysctls and labels)
  // Tries it: a child cloned with CLONE_NEWUSER as the launcher clones (clone3), exiting at once.
  // Only isolation.mode = "auto" asks, and only when user_namespaces is true: the sysctls can
  // allow what a container's seccomp profile still refuses. Unset: user_namespaces is the answer.
  // The text is why not ("clone3: Function not implemented"), empty when it works.
  std::function<std::string()> try_user_namespace;
  bool seccomp = true;          // seccomp filter mode is available
  bool seccomp_user_notif = false;  // SECCOMP_RET_USER_NOTIF: violations can be named
  // The cgroup2 mount (e.g. /sys/fs/cgroup/unified) and the directory leaves go under;
  // empty when there is none usable.
  std::string cgroup2_mount;
  std::string cgroup_parent;
  std::string cgroup_parent_source;  // why there (host::place_cgroup), for the report
  std::vector<std::string> cgroup_controllers;  // enabled for children of cgroup_parent
  int landlock_abi = 0;
  // The per-user-namespace limits this kernel has: the names in /proc/sys/user
  // ("max_inotify_instances", ...).
  std::vector<std::string> user_sysctls;
  // Filesystem probes, so plans can be tested against a fake tree. lstat-like: does not follow
  // a final symlink. readlink returns the link text.
  std::function<FileKind(const std::string&)> file_kind;
  std::function<std::optional<std::string>(const std::string&)> read_link;
  // X_OK check for exec path resolution.
  std::function<bool(const std::string&)> executable;
  // The entries of a directory (not "." or ".."), nullopt when it cannot be listed. Landlock
  // mode needs it to leave out a denied path below an allowed tree (plan/direct.cpp).
  std::function<std::optional<std::vector<DirEntry>>(const std::string&)> list_directory;
  // confine's own hard limit for an RLIMIT_* resource (getrlimit), which the sandbox inherits
  // and can never raise; unset or nullopt when unknown, and then nothing is checked.
  std::function<std::optional<uint64_t>(int resource)> hard_limit;
  // Where compiled seccomp filters are cached (seccomp::FilterCache); none when unset, and the
  // plan compiles the filter itself.
  std::optional<seccomp::FilterCache> filter_cache;
};

// What the caller asked to run.
struct RunRequest {
  std::vector<std::string> argv;         // argv[0] is the command as given
  std::vector<std::string> caller_env;   // NAME=VALUE, the caller's environment
  std::string policy_path;               // for the report
  bool relay_stdin = false;              // the job's stdin is confine's, relayed; else /dev/null
  bool audit = false;                    // --audit: denials are listed, not enforced
  // `confine learn`: the policy's isolation, but the learning filter instead of its seccomp rules
  // (every call outside seccomp::learning_baseline() and every path call is recorded and runs).
  bool learn = false;
  // The caller's working directory (absolute; empty = unknown). The job starts there when no
  // policy file or flag sets process.cwd and the sandbox shows that directory from the host, as
  // bubblewrap keeps it; otherwise in process.cwd ("/").
  std::string caller_cwd = {};
  // The effective policy's content_hash, when the caller already knows it (a batch keeps it per
  // policy and overrides); empty: make_plan computes it.
  std::string policy_sha256 = {};
};

enum class MountKind {
  kBind,     // recursive bind of a host path; `read_only` applied to every submount
  kTmpfs,    // size-capped tmpfs (mode 1777 for /tmp-like dirs)
  kDev,      // minimal /dev: tmpfs with null zero full random urandom bound in, plus fd links
  kProc,     // fresh procfs for the sandbox's pid namespace
  kSymlink,  // a symlink recreated inside the new root (text is resolved inside, never outside)
  kMaskDir,  // an empty read-only tmpfs over a denied directory
  kMaskFile, // an empty read-only file bound over a denied file
};

// "bind", "tmpfs", "dev", "proc", "symlink", "mask-dir", "mask-file".
[[nodiscard]] const char* to_string(MountKind kind);

struct MountOp {
  MountKind kind = MountKind::kBind;
  std::string source;  // host path for kBind; link text for kSymlink
  std::string target;  // absolute path inside the new root
  bool read_only = true;
  bool source_is_dir = true;  // decides whether the mountpoint is a directory or a file
  uint64_t size_bytes = 0;    // kTmpfs
  uint64_t inodes = 0;        // kTmpfs: nr_inodes (0: the child's default for the kind)
  uint32_t mode = 0755;       // kTmpfs, kMaskDir
  std::string origin;         // "file:line:col" of the rule, for error messages
  // The Landlock rule the child adds on this mount's root (landlock::k* rights, already masked
  // to the ABI); 0 = no rule of its own (symlinks, masks, or no Landlock at all).
  uint64_t landlock_access = 0;
  bool output_area = false;   // kTmpfs: the output area, handed to the parent for the copy-out
};

// The output area (launch/output_area.h): a tmpfs the job writes into, copied out when it ends.
struct OutputArea {
  std::string path;  // inside the sandbox
  std::string host;  // host directory the regular files are copied into
  uint64_t size_bytes = 0;
  uint64_t files = 0;
};

// The Landlock ruleset (include/confine/landlock.h), compiled from the same policy as the mounts:
// what it handles, and the rules that do not belong to one mount step. The per-mount rules are in
// MountOp::landlock_access.
struct LandlockRuleset {
  int abi = 0;  // the ABI the masks are for: min(the kernel's, landlock::kKnownAbi)
  uint64_t handled_fs = 0;
  uint64_t handled_net = 0;  // TCP bind/connect with network.mode = "none" (ABI 4+), else 0
  uint64_t scoped = 0;       // signals; abstract unix sockets with network.mode = "none" (ABI 6+)
  uint64_t root_access = 0;      // on the new root tmpfs: list directories, nothing more
  uint64_t dev_node_access = 0;  // on each device node of the minimal /dev
};

// How the job is isolated (policy::IsolationMode after "auto" is decided).
enum class Isolation {
  kNamespaces,  // user, mount, pid, ipc, uts, cgroup (and net) namespaces, a new root
  kLandlock,    // no namespaces: the job runs on the host's tree and pids, walled by Landlock
};
[[nodiscard]] const char* to_string(Isolation isolation);

// Landlock mode's filesystem rules: the host paths themselves (there is no new root), each with
// the rights the job gets beneath it. Compiled from the same mounts as the namespace mode's
// (plan/direct.cpp); a denied path below an allowed tree is left out by giving its siblings the
// rule instead, since Landlock cannot deny beneath an allowed directory.
struct DirectRule {
  std::string path;       // absolute host path, opened by the child without following symlinks
  uint64_t access = 0;    // landlock::k* rights, masked to the ABI
  bool optional = false;  // a path listed while planning that may be gone by launch: skipped
};

struct IdMapping {
  uint32_t inside = 0;
  uint32_t outside = 0;
  uint32_t count = 1;
};

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0;
  uint64_t hard = 0;
  std::string name;  // "RLIMIT_NOFILE"
};

// A cgroup control file write, e.g. {"memory.max", "536870912"}.
struct CgroupWrite {
  std::string file;
  std::string value;
};

struct Plan {
  Isolation isolation = Isolation::kNamespaces;

  // What runs.
  std::vector<std::string> argv;
  std::string exec_path;           // absolute; resolved in the parent, never searched by the child
  std::vector<std::string> envp;   // exactly the target's environment, NAME=VALUE

  // Namespaces and identity. In landlock mode: no flags, no maps, and uid/gid are the host ids
  // the job runs as (the caller's own; run by root, process.host_uid/host_gid).
  uint64_t clone_flags = 0;  // CLONE_NEW* flags
  IdMapping uid_map, gid_map;
  uint32_t uid = 0, gid = 0;  // inside
  bool deny_setgroups = true;
  std::string hostname;
  std::string cwd;

  // Filesystem, in the order the child applies them.
  std::vector<MountOp> mounts;
  std::optional<OutputArea> output_area;

  // Per-user kernel resources (launch/owner.h): limits the child writes into the job's own user
  // namespace (/proc/sys/user/<name> = value), and, run by root, whether the namespace is
  // created by a host uid of the job's own, so nothing it takes is charged to root.
  std::vector<std::pair<std::string, uint64_t>> ucount_limits;
  bool namespace_owner_per_job = false;

  // Process limits and privileges.
  std::vector<Rlimit> rlimits;
  uint64_t keep_caps = 0;  // bit N = capability N kept in bounding/permitted/effective/ambient
  std::optional<seccomp::Program> seccomp;  // absent only when best-effort and unavailable
  // With a notifying filter: the same rules without notification, which the reaper runs on each
  // notification to decide it (seccomp::evaluate).
  std::optional<seccomp::Program> seccomp_verdict;
  bool audit = false;  // nothing is denied: every denial is listed in the report and allowed
  bool learn = false;  // the learning filter: every notification is recorded and continues
  // Path syscalls notify (seccomp::CompileOptions::watch_paths): learn and --audit see paths.
  bool watch_paths = false;
  std::optional<LandlockRuleset> landlock;  // absent only when best-effort and unavailable
  // Landlock mode: the rules on host paths (the ruleset's handled rights are in `landlock`,
  // which this mode requires), and whether the target drops ids and the bounding set itself
  // (run by root: setgroups, setresgid and setresuid to uid/gid, CAP_SETPCAP for the set).
  std::vector<DirectRule> direct_rules;
  bool direct_switch_ids = false;

  // Resources.
  std::string cgroup_parent;        // where the job's leaf is created; empty = no cgroup
  std::vector<CgroupWrite> cgroup_writes;

  // Stdio: always pipes (or a pty) that confine relays (launch/relay.h).
  bool relay_stdin = false;
  std::optional<uint64_t> output_limit;  // bytes of stdout+stderr

  // Time.
  std::optional<std::chrono::milliseconds> wall_time;
  std::optional<std::chrono::milliseconds> cpu_time;
  std::chrono::milliseconds kill_grace{2000};

  // For the report.
  std::vector<report::Protection> protections;
  std::vector<std::string> warnings;
  std::string policy_path;
  std::string policy_sha256;
};

[[nodiscard]] Expected<Plan> make_plan(const policy::Policy& policy, const RunRequest& request,
                                       const HostFacts& host);

// One question a plan asked the host through HostFacts' probes, and the answer it got. A plan is
// a function of the policy, the request and these answers (plan/ reads the host through nothing
// else), so the same policy and request, with every answer the same, make the same plan: a batch
// asks the questions again and reuses its plan when they all hold (cli/run_command.cpp).
struct HostAnswer {
  enum class Probe : uint8_t { kFileKind, kReadLink, kExecutable, kListDirectory, kHardLimit, kUserNamespace };
  Probe probe = Probe::kFileKind;
  std::string question;  // the path; the RLIMIT_* number for kHardLimit; empty for kUserNamespace
  std::string answer;    // the answer, encoded (plan/recording.cpp)

  bool operator==(const HostAnswer&) const = default;
};
// `host`, with each of its probes also appending its question and answer to `into`.
[[nodiscard]] HostFacts recording(const HostFacts& host, std::shared_ptr<std::vector<HostAnswer>> into);
// True when every question in `answers`, asked of `host` again, gets the same answer.
[[nodiscard]] bool answers_hold(const HostFacts& host, const std::vector<HostAnswer>& answers);

// The first `count` bytes of a host file, read without following a final symlink and without
// blocking; nullopt when it cannot be read. host::read_head is the real one.
using ReadHead = std::function<std::optional<std::string>(const std::string& path, size_t count)>;

// Why execve of plan.exec_path failed with `sys_errno`, as one line for a person that names the
// cause: "/usr/bin/tesseract: its interpreter /lib64/ld-linux-x86-64.so.2 is not in the sandbox",
// "/job/run.sh: its interpreter /usr/bin/python3 (from its #! line) is masked by the deny rule at
// job.toml:4:9", "/no/such: not found in the sandbox". Looks at the file's ELF program header
// or #! line on the host, and at the plan's mounts for what the sandbox shows.
[[nodiscard]] std::string explain_exec_failure(const Plan& plan, const HostFacts& host, int sys_errno,
                                               const ReadHead& read_head);

// For a command named without a "/" that the sandbox's PATH does not have: the absolute path the
// report names, the first executable candidate on the host's side of that PATH (the one the
// sandbox hides), or else the candidate in the PATH's first directory.
[[nodiscard]] std::string path_candidate(const std::string& command, const std::vector<std::string>& envp,
                                         const HostFacts& host);

// Stable, line-oriented text of a plan: `--dry-run` output and golden-file tests.
[[nodiscard]] std::string render(const Plan& plan);

// Filters the caller's environment per policy: keeps names and globs, drops secret-looking names
// (*TOKEN* *SECRET* *PASSWORD* *KEY* *CREDENTIAL* AWS_* LD_*, case-insensitive) unless allowed
// by exact name, then applies `set`. Sorted by name.
[[nodiscard]] std::vector<std::string> build_env(const policy::Policy::Env& env,
                                                 const std::vector<std::string>& caller_env);
[[nodiscard]] bool is_secret_name(std::string_view name);

}  // namespace confine::plan
