// The policy: what the author asked for, mirrored from TOML with every value's source position.
//
// Only src/policy/ knows TOML. `load` reads a file and everything it `extends`, validates all of
// it in one pass and returns either the effective Policy or every problem found, each located as
// `file:line:col: key: message`. Nothing here touches the host beyond reading the policy files;
// whether the host can enforce the policy is plan's question.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "confine/error.h"

namespace confine::policy {

// Where a value came from. An empty file means a built-in default.
struct Origin {
  std::string file;  // the policy file's path as given (or "<command line>")
  uint32_t line = 0;
  uint32_t column = 0;

  [[nodiscard]] bool is_default() const { return file.empty(); }
  // Set by a `confine run` flag ("<command line>").
  [[nodiscard]] bool is_command_line() const;
  // "file:line:col", "<command line>" (line 0), or "default".
  [[nodiscard]] std::string str() const;
};

// A value with provenance. `origin.is_default()` when no file set it.
template <class T>
struct Sourced {
  T value{};
  Origin origin{};
};

enum class Enforcement { kRequired, kBestEffort };
enum class NetworkMode { kNone, kHost };
enum class SeccompAction { kAllow, kKill, kErrno };
// How the sandbox is built (docs/security.md, "Landlock mode"): user, mount, pid, ... namespaces
// (the default); no namespaces at all, for hosts that forbid them (Landlock for the filesystem,
// seccomp, rlimits, a cgroup where one is writable); or namespaces where this host allows them
// and Landlock mode, said in a warning and the report, where it does not.
enum class IsolationMode { kNamespaces, kLandlock, kAuto };

struct PathRule {
  std::string path;       // absolute, normalised (no "." or ".." or trailing "/")
  bool optional = false;  // a missing path is skipped instead of being an error
  Origin origin;
};

struct TmpfsRule {
  std::string path;
  uint64_t size_bytes = 0;
  Origin origin;
  // Inode cap (tmpfs nr_inodes): files, directories and links together. Unset: one per 4 KiB of
  // size, at least kMinTmpfsInodes. Without a cap, millions of empty files pin host kernel
  // memory the size cap never sees.
  std::optional<uint64_t> inodes = std::nullopt;
};
inline constexpr uint64_t kMinTmpfsInodes = 64;
// The inode cap a tmpfs gets: its `inodes`, or one per 4 KiB of size (at least kMinTmpfsInodes).
[[nodiscard]] uint64_t tmpfs_inodes(const TmpfsRule& rule);

struct SeccompRule {
  SeccompAction action = SeccompAction::kKill;
  std::vector<std::string> syscalls;  // syscall names and @group names, validated
  std::optional<int> errno_value;     // only for kErrno; defaults to Seccomp::errno_value
  Origin origin;
  bool log = false;                   // only for kErrno: each call is named in the report
};

using Millis = std::chrono::milliseconds;

struct Policy {
  // Files in the order they were applied: bases first, the named file last.
  std::vector<std::string> files;
  Sourced<std::string> description;

  struct Process {
    Sourced<uint32_t> uid{1000, {}};         // uid inside the sandbox
    Sourced<uint32_t> gid{1000, {}};         // gid inside the sandbox
    Sourced<uint32_t> host_uid{65534, {}};   // host uid the inside uid maps to when run as root
    Sourced<uint32_t> host_gid{65534, {}};   // host gid the inside gid maps to when run as root
    Sourced<std::string> cwd{"/", {}};       // working directory inside the sandbox
    Sourced<std::string> hostname{"confine", {}};
  } process;

  struct Filesystem {
    std::vector<PathRule> ro;    // bound read-only at the same path
    std::vector<PathRule> rw;    // bound read-write at the same path
    std::vector<PathRule> deny;  // masked even inside ro/rw trees
    std::vector<TmpfsRule> tmpfs;
    Sourced<bool> dev{true, {}};   // minimal /dev: null zero full random urandom, tty-less
    Sourced<bool> proc{true, {}};  // fresh /proc for the sandbox's pid namespace
    // Creating or chmod'ing files with S_ISUID/S_ISGID (seccomp EPERM unless true).
    Sourced<bool> allow_suid_sgid{false, {}};
    // A size- and inode-capped tmpfs the job writes its results into; when the job ends, confine
    // copies the regular files in it (nothing else) into `host` (launch/output_area.h).
    struct Output {
      std::string path = "/out";               // inside the sandbox
      std::string host;                        // host directory; empty until --output names one
      uint64_t size_bytes = uint64_t{1} << 30;  // tmpfs size, and the most bytes copied
      uint64_t files = 10000;                  // tmpfs nr_inodes: files and directories together
      Origin origin;
    };
    std::optional<Output> output;
  } filesystem;

  struct Network {
    Sourced<NetworkMode> mode{NetworkMode::kNone, {}};
    // Address families socket() and socketpair() accept, by name (seccomp::socket_family);
    // every other fails with EAFNOSUPPORT. "vsock" is refused with mode "none": vsock has no
    // network namespace.
    Sourced<std::vector<std::string>> socket_families{{"unix", "inet", "inet6", "netlink"}, {}};
  } network;

  struct Env {
    std::vector<Sourced<std::string>> keep;           // caller names or globs to pass through
    std::map<std::string, Sourced<std::string>> set;  // values set for the target
    std::vector<Sourced<std::string>> allow_secrets;  // exact names exempt from secret dropping
  } env;

  // An empty optional means "no limit of that kind": the default, or "unlimited" written in a
  // file (which then shows as the origin, so explain can say who lifted a base's limit).
  struct Limits {
    Sourced<std::optional<Millis>> wall_time;
    Sourced<std::optional<Millis>> cpu_time;
    Sourced<Millis> kill_grace{Millis{2000}, {}};
    Sourced<std::optional<uint64_t>> memory_bytes;
    Sourced<std::optional<uint64_t>> memory_high_bytes;  // cgroup memory.high: throttle, do not kill
    Sourced<std::optional<uint64_t>> swap_bytes{uint64_t{0}, {}};  // no swap unless asked
    Sourced<std::optional<uint64_t>> pids;
    Sourced<std::optional<double>> cpus;
    Sourced<std::optional<uint64_t>> open_files;
    Sourced<std::optional<uint64_t>> file_size_bytes;
    // Bytes of stdout and stderr together that confine relays; past it the job is killed.
    Sourced<std::optional<uint64_t>> output_bytes;
    Sourced<bool> core_dumps{false, {}};
  } limits;

  struct Seccomp {
    Sourced<SeccompAction> default_action{SeccompAction::kAllow, {}};
    Sourced<int> errno_value{1 /* EPERM */, {}};
    // With default_action = "errno": each call the default refuses is named in the report.
    Sourced<bool> log{false, {}};
    std::vector<SeccompRule> rules;  // later rules win for a syscall named twice
  } seccomp;

  struct Capabilities {
    std::vector<Sourced<std::string>> keep;  // canonical "CAP_XXX" names
  } capabilities;

  struct Isolation {
    Sourced<IsolationMode> mode{IsolationMode::kNamespaces, {}};
  } isolation;

  struct EnforcementSettings {
    Sourced<Enforcement> resources{Enforcement::kRequired, {}};  // cgroup memory/swap/pids/cpu
    Sourced<Enforcement> seccomp{Enforcement::kRequired, {}};
    // The Landlock layer under the mounts: best-effort by default, so kernels without Landlock
    // still run (with a warning); required refuses to plan without it.
    Sourced<Enforcement> landlock{Enforcement::kBestEffort, {}};
  } enforcement;
};

// One located problem. `key` is the dotted TOML key ("limits.memory"), empty for file-level ones.
struct Diagnostic {
  Origin origin;
  std::string key;
  std::string message;
  // "file:line:col: key: message"
  [[nodiscard]] std::string str() const;
};

struct LoadOptions {
  uint64_t max_file_bytes = 1 << 20;  // a policy larger than this is refused unread
  unsigned max_extends_depth = 16;
  // Where `extends` names without a "/" are looked for after the naming file's own directory
  // (find_policy). confine's CLI passes policy_search_path().
  std::vector<std::string> search_path;
  // Set when confine runs as root: every file read must pass safe_path::check_trusted for this
  // owner (root's, or the caller's), so nobody else can choose the policy root runs with.
  std::optional<uid_t> trusted_owner;
};

// A policy by name or path. A name without "/" ("python", "python.toml") is looked for as NAME
// and NAME.toml in each directory of `search_path` in turn; anything with a "/" is a path, used
// as it is. The error lists every directory searched.
[[nodiscard]] Expected<std::string> find_policy(const std::string& name, const std::vector<std::string>& search_path);

// Loads `path` and its `extends` chain. On failure the Diagnostics list every problem found.
struct LoadResult {
  std::optional<Policy> policy;
  std::vector<Diagnostic> diagnostics;
  [[nodiscard]] bool ok() const { return policy.has_value() && diagnostics.empty(); }
};
[[nodiscard]] LoadResult load(const std::string& path, const LoadOptions& options = {});

// Overrides from the command line, applied after every file with origin "<command line>".
// Each is validated exactly like the policy key it sets (docs/policy.md, "Command-line
// overrides"); list flags take one value each and are repeated.
struct Overrides {
  std::vector<std::string> ro, rw, deny;
  std::vector<std::string> tmpfs;     // PATH or PATH:SIZE (kDefaultTmpfsSize when no size)
  std::vector<std::string> keep_env;  // names or globs, as env.keep
  std::optional<std::string> cwd, hostname;
  std::vector<std::string> env;  // NAME=VALUE
  std::optional<std::string> timeout, cpu_time, memory, pids, cpus, net, max_output;
  std::optional<std::string> kill_after, file_size, open_files;
  std::optional<std::string> output;  // --output HOST_DIR: the output area's host directory
  std::optional<std::string> isolation;  // --isolation namespaces|landlock|auto
  bool best_effort = false;  // resources become best-effort

  bool operator==(const Overrides&) const = default;
};
// The size of a `--tmpfs PATH` given without one.
inline constexpr std::string_view kDefaultTmpfsSize = "64M";
// Validates and applies overrides, reporting problems as diagnostics against "<command line>".
[[nodiscard]] std::vector<Diagnostic> apply_overrides(Policy& policy, const Overrides& overrides);

// Path rules (ro, rw, deny and tmpfs together) a policy may have after merging and overrides.
// Each becomes at most one of the sandbox's mount steps, and the child has room for
// child::kMaxMountSteps (512): the rest is kept for /dev, /proc and the built-in masks
// (plan/mounts.cpp), so a policy that passes `confine check` never hits the limit at run time.
inline constexpr size_t kMaxPathRules = 480;

// "Did you mean": the candidate nearest to `name` (edit distance at most 2, or equal ignoring
// case), or "" when none is close. Shared by policy keys and the command line.
[[nodiscard]] std::string closest_name(std::string_view name, const std::vector<std::string_view>& candidates);

// Parsers shared by the loader and the command line; each returns an error message on failure.
// Sizes: "512", "512K", "512M", "2G", "1T" (binary multiples; optional "iB"/"B" suffix).
[[nodiscard]] Expected<uint64_t> parse_size(std::string_view text);
// Durations: "500ms", "2s", "1m30s", "1h" (sum of number+unit pairs; units ms s m h).
[[nodiscard]] Expected<Millis> parse_duration(std::string_view text);

// The effective policy as canonical JSON text (no provenance), hashed for the report.
[[nodiscard]] std::string canonical_text(const Policy& policy);
// SHA-256 of canonical_text, as lowercase hex.
[[nodiscard]] std::string content_hash(const Policy& policy);

// `confine explain`: each effective value with where it came from.
[[nodiscard]] std::string explain_text(const Policy& policy);
[[nodiscard]] std::string explain_json(const Policy& policy);

// Names for enums, shared by explain, plan rendering and reports.
[[nodiscard]] const char* to_string(Enforcement e);
[[nodiscard]] const char* to_string(NetworkMode m);
[[nodiscard]] const char* to_string(SeccompAction a);
[[nodiscard]] const char* to_string(IsolationMode m);

}  // namespace confine::policy
