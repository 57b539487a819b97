// Outcome names as they appear in the report's "outcome" field. They are part of the report
// contract (docs/report.md, the enum in docs/report.schema.json): renaming one bumps
// report_version.
#include "confine/report.h"

namespace confine::report {

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "ok";
    case Outcome::kExitNonzero: return "exit_nonzero";
    case Outcome::kSignaled: return "signaled";
    case Outcome::kOom: return "oom";
    case Outcome::kWallTimeout: return "wall_timeout";
    case Outcome::kCpuTimeout: return "cpu_timeout";
    case Outcome::kSeccompViolation: return "seccomp_violation";
    case Outcome::kFileSizeLimit: return "file_size_limit";
    case Outcome::kOutputLimit: return "output_limit";
    case Outcome::kSetupError: return "setup_error";
    case Outcome::kExecError: return "exec_error";
  }
  // Only reachable through a cast from an out-of-range integer; the schema rejects this value,
  // so a bug shows up as an invalid report instead of a plausible-looking wrong one.
  return "unknown";
}

}  // namespace confine::report
