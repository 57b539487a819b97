// The report: how the target ended and what confine enforced, as versioned JSON
// (docs/report.md, docs/report.schema.json), plus the exit-code contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confine/error.h"

namespace confine::report {

inline constexpr int kReportVersion = 1;

enum class Outcome {
  kOk,                // exited 0
  kExitNonzero,       // exited with a non-zero code
  kSignaled,          // killed by a signal no other outcome explains
  kOom,               // the kernel's OOM killer ended the job (from memory.events)
  kWallTimeout,       // the wall-time limit elapsed
  kCpuTimeout,        // the CPU-time limit was used up
  kSeccompViolation,  // a syscall the filter forbids with "kill"
  kFileSizeLimit,     // SIGXFSZ: wrote past limits.file_size
  kOutputLimit,       // stdout+stderr passed limits.output; confine killed the job
  kSetupError,        // confine failed before exec (policy, host, or a setup step)
  kExecError,         // execve failed: not found or not executable
};
[[nodiscard]] const char* to_string(Outcome outcome);

// Exit codes, following GNU timeout(1) where it has one.
inline constexpr int kExitTimeout = 124;        // wall_timeout, cpu_timeout
inline constexpr int kExitConfineFailed = 125;  // setup_error, bad policy, bad command line
inline constexpr int kExitNotExecutable = 126;  // exec_error with EACCES/ENOEXEC/...
inline constexpr int kExitNotFound = 127;       // exec_error with ENOENT
inline constexpr int kExitSignalBase = 128;     // 128+N when the target died of signal N
// output_limit: the same code as file_size_limit (128+SIGXFSZ): the job wrote more than it was
// allowed to; the outcome says which limit.
inline constexpr int kExitOutputLimit = 153;

// One protection and whether it is in force for this run.
struct Protection {
  std::string name;       // "user_namespace", "seccomp", "memory_limit", ...
  std::string status;     // "enforced", "best_effort_skipped", "disabled_by_policy"
  std::string mechanism;  // "cgroup v2 memory.max", "rlimit RLIMIT_AS", "seccomp-bpf", ...
  std::string detail;     // value or reason, free text

  bool operator==(const Protection&) const = default;
};

struct SetupFailure {
  std::string step;     // "bind[3]", "pivot_root", "uid_map", ...
  std::string path;     // the path involved, if any
  int sys_errno = 0;    // 0 when not a syscall failure
  std::string message;  // rendered by the parent from its own copy of the plan
};

struct ExecFailure {
  std::string path;     // absolute: what was executed, or for a PATH miss, where it was looked for first
  int sys_errno = 0;
  // The cause for a person, complete: "/usr/bin/tesseract: its interpreter
  // /lib64/ld-linux-x86-64.so.2 is not in the sandbox" (plan::explain_exec_failure). Empty: say
  // what errno means (outcome_sentence).
  std::string message = {};
};

struct SeccompViolation {
  std::string syscall;  // name, or "syscall_<nr>"
  int nr = -1;
  std::string arch;     // "x86_64", "i386", "x32", ...
};

// A call the filter denied (or, in an audit, would have denied), named and counted.
struct Denial {
  std::string syscall;  // name, or "syscall_<nr>"
  int nr = -1;
  std::string arch;     // "x86_64", or the AUDIT_ARCH_* number
  std::string action;   // "kill" or "errno"
  int errno_value = 0;  // for "errno"
  uint64_t count = 0;   // calls with this syscall and action
  int first_pid = 0;    // the first caller, as confine's pid namespace sees it
};

// A path the job tried that exists on the host but is not in the sandbox (--audit).
struct AuditPath {
  std::string path;       // as the job named it, resolved against its cwd or dirfd
  std::string operation;  // "open", "create", "exec", "stat", "list", ...
  uint64_t count = 0;
  int first_pid = 0;
};

// `confine run --audit`: a run that enforced no seccomp denial and lists what it would have
// denied, and the paths the job looked for that the policy does not expose.
struct Audit {
  std::vector<Denial> syscalls;
  std::vector<AuditPath> paths;
};

struct Phase {
  std::string name;  // "policy", "plan", "clone", "child_setup", "run", "teardown"
  uint64_t duration_us = 0;
};

struct Counters {
  uint64_t oom_kills = 0;        // memory.events oom_kill
  uint64_t oom_group_kills = 0;  // memory.events oom_group_kill
  uint64_t pids_max_hits = 0;    // pids.events max
  uint64_t cpu_throttled_us = 0; // cpu.stat throttled_usec
};

// What confine relayed of the job's stdout and stderr (launch/relay.h).
struct OutputStats {
  uint64_t stdout_bytes = 0;   // passed on to confine's stdout (a shared pty or pipe: both streams)
  uint64_t stderr_bytes = 0;
  uint64_t dropped_bytes = 0;  // written by the job but not passed on: past the limit, or no reader
  std::optional<uint64_t> limit_bytes;
};

// What the output area's copy-out did (launch/output_area.h).
struct OutputAreaReport {
  std::string path;  // inside the sandbox
  std::string host;  // the host directory the files went to
  uint64_t files_copied = 0;
  uint64_t bytes_copied = 0;
  struct Copied {
    std::string name;  // relative to the area, "/"-separated
    uint64_t bytes = 0;
  };
  struct Refused {
    std::string name;
    std::string reason;  // "symlink", "fifo", "device", "socket", "name", "too deep", "error: ..."
  };
  std::vector<Copied> copied;    // at most kMaxListed
  std::vector<Refused> refused;  // at most kMaxListed
  uint64_t unlisted = 0;         // entries of either list left out past kMaxListed
  static constexpr size_t kMaxListed = 1000;
};

struct Report {
  int report_version = kReportVersion;
  std::string confine_version;
  Outcome outcome = Outcome::kSetupError;
  int exit_code = kExitConfineFailed;  // what confine itself exits with
  std::optional<int> target_exit_code;  // when the target exited
  std::optional<int> signal;            // when the target died of a signal
  bool core_dumped = false;
  uint64_t wall_time_us = 0;
  uint64_t cpu_user_us = 0;
  uint64_t cpu_system_us = 0;
  std::optional<uint64_t> memory_peak_bytes;  // absent when no mechanism measured it
  std::optional<uint64_t> pids_peak;
  std::vector<std::string> limits_hit;  // "wall_time", "cpu_time", "memory", "pids", "file_size", "output"
  Counters counters;
  std::optional<OutputStats> output;  // absent when the job never started
  // The signal confine received that cancelled the run ("SIGTERM", "SIGINT"); absent when none did.
  std::optional<std::string> cancelled;
  std::optional<OutputAreaReport> output_area;  // absent without an output area
  std::vector<Protection> enforced;
  std::vector<std::string> command;
  std::string policy_path;
  std::string policy_sha256;
  std::optional<SetupFailure> setup_error;
  std::optional<ExecFailure> exec_error;
  std::optional<SeccompViolation> seccomp_violation;
  std::vector<Denial> denials;  // every named denial (the violation that ended the job included)
  std::optional<Audit> audit;   // present only for --audit runs
  std::vector<Phase> phases;
  std::vector<std::string> warnings;
};

// The JSON document (stable key order, schema in docs/report.schema.json).
[[nodiscard]] std::string to_json_text(const Report& report, bool pretty = false);
// A report read back from its JSON (a report file): the inverse of to_json_text for every key it
// writes. Fails on text that is not a version-1 report.
[[nodiscard]] Expected<Report> from_json_text(std::string_view text);

// The target never ran (a setup or exec error): no exit status, no signal, zero times, as
// docs/report.md promises, whatever the sandbox's init reported for itself.
void mark_never_started(Report& report);

// What happened, in one line for a person, without a "confine: " prefix: "wall time limit 2s
// reached; job killed", "job killed by seccomp: socket (nr 41)", "out of memory (limit 512M)",
// "/no/such: not found in the sandbox". Limits are read from the report's `enforced` entries.
// Empty for `ok`.
[[nodiscard]] std::string outcome_sentence(const Report& report);
// The whole report for a person (`confine report FILE`, `--report-format text`): outcome, exit,
// times, peaks, limits hit, output, what was and was not enforced, warnings, setup phases.
[[nodiscard]] std::string to_text(const Report& report);
// "SIGKILL" for 9; "SIG<n>" for unknown numbers.
[[nodiscard]] std::string signal_name(int signal);

}  // namespace confine::report
