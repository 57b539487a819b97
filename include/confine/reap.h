// The reaper's pure half: turning what was observed about a finished job into an outcome.
//
// `wait` (I/O, in launch/reap) gathers ReapFacts; `classify` decides. Keeping classify pure
// makes every outcome rule a row in a table test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "confine/report.h"

namespace confine::reap {

struct ReapFacts {
  // How the target (the sandbox's pid 1 relays it) ended; exactly one of these is set unless
  // the target never started.
  std::optional<int> exit_code;
  std::optional<int> term_signal;
  bool core_dumped = false;

  // Why confine stopped the job, if it did.
  bool wall_timeout = false;
  bool cpu_timeout = false;
  bool output_limit = false;  // stdout+stderr passed limits.output
  bool seccomp_notified = false;  // the filter's supervisor saw a forbidden syscall

  // Kernel accounting (cgroup memory.events, pids.events); zero when not measured.
  uint64_t oom_kills = 0;
  uint64_t oom_group_kills = 0;
  uint64_t pids_max_hits = 0;

  // Failures before the target ran.
  bool setup_failed = false;
  std::optional<int> exec_errno;  // execve's errno when exec failed
};

struct Classification {
  report::Outcome outcome = report::Outcome::kSetupError;
  int exit_code = report::kExitConfineFailed;
  std::vector<std::string> limits_hit;
};

// The precedence, first match wins: setup_error, exec_error, oom (a group kill, or an OOM kill
// that ended the target by SIGKILL), wall_timeout, cpu_timeout, output_limit, seccomp_violation
// (notified or SIGSYS), file_size_limit (SIGXFSZ), signaled, exit_nonzero, ok.
[[nodiscard]] Classification classify(const ReapFacts& facts);

}  // namespace confine::reap
