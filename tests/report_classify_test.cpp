// reap::classify as a table: one row per rule and per conflict between rules. The precedence is
// the contract in include/confine/reap.h and docs/report.md; a row that changes here changes
// what users' scripts see.
#include <cerrno>
#include <csignal>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "confine/reap.h"
#include "confine/report.h"

namespace confine::reap {
namespace {

using report::Outcome;

struct Row {
  const char* name;
  ReapFacts facts;
  Outcome outcome;
  int exit_code;
  std::vector<std::string> limits_hit;
};

void PrintTo(const Row& row, std::ostream* out) { *out << row.name; }

constexpr int kSignalExit(int signal) { return report::kExitSignalBase + signal; }

// Designated initializers leave the facts' std::optional members empty on purpose; GCC 12 warns
// about members without a default member initializer even so.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const std::vector<Row>& rows() {
  static const std::vector<Row> kRows = {
      // The target's own ending, nothing else going on.
      {"exit_0", {.exit_code = 0}, Outcome::kOk, 0, {}},
      {"exit_3", {.exit_code = 3}, Outcome::kExitNonzero, 3, {}},
      {"exit_255", {.exit_code = 255}, Outcome::kExitNonzero, 255, {}},
      // The target's own code passes through even where it collides with confine's codes;
      // only the report's outcome tells them apart (docs/report.md says so).
      {"exit_124_is_not_a_timeout", {.exit_code = 124}, Outcome::kExitNonzero, 124, {}},
      {"sigterm", {.term_signal = SIGTERM}, Outcome::kSignaled, kSignalExit(SIGTERM), {}},
      {"sigsegv_core", {.term_signal = SIGSEGV, .core_dumped = true}, Outcome::kSignaled,
       kSignalExit(SIGSEGV), {}},
      {"sigkill_without_oom", {.term_signal = SIGKILL}, Outcome::kSignaled, 137, {}},
      {"realtime_signal", {.term_signal = 35}, Outcome::kSignaled, 163, {}},

      // setup_error beats everything.
      {"setup_failed", {.setup_failed = true}, Outcome::kSetupError, 125, {}},
      {"setup_beats_exec_error", {.setup_failed = true, .exec_errno = ENOENT},
       Outcome::kSetupError, 125, {}},
      {"setup_beats_oom_and_timeout",
       {.term_signal = SIGKILL, .wall_timeout = true, .oom_group_kills = 1, .setup_failed = true},
       Outcome::kSetupError, 125, {}},

      // exec_error: ENOENT is "not found", everything else "not executable".
      {"exec_enoent", {.exec_errno = ENOENT}, Outcome::kExecError, 127, {}},
      {"exec_eacces", {.exec_errno = EACCES}, Outcome::kExecError, 126, {}},
      {"exec_enoexec", {.exec_errno = ENOEXEC}, Outcome::kExecError, 126, {}},
      {"exec_etxtbsy", {.exec_errno = ETXTBSY}, Outcome::kExecError, 126, {}},
      {"exec_beats_timeout", {.wall_timeout = true, .exec_errno = ENOENT}, Outcome::kExecError,
       127, {}},

      // oom.
      {"oom_group_kill", {.term_signal = SIGKILL, .oom_group_kills = 1}, Outcome::kOom, 137,
       {"memory"}},
      {"oom_kill_of_target", {.term_signal = SIGKILL, .oom_kills = 1}, Outcome::kOom, 137,
       {"memory"}},
      {"oom_group_kill_whatever_the_status", {.exit_code = 0, .oom_group_kills = 2},
       Outcome::kOom, 137, {"memory"}},
      {"grandchild_oom_target_exit_0", {.exit_code = 0, .oom_kills = 1}, Outcome::kOk, 0, {}},
      {"grandchild_oom_target_exit_1", {.exit_code = 1, .oom_kills = 3}, Outcome::kExitNonzero,
       1, {}},
      {"oom_kill_but_target_died_of_sigterm", {.term_signal = SIGTERM, .oom_kills = 1},
       Outcome::kSignaled, kSignalExit(SIGTERM), {}},
      {"oom_beats_wall_timeout", {.term_signal = SIGKILL, .wall_timeout = true, .oom_kills = 1},
       Outcome::kOom, 137, {"memory"}},
      {"oom_beats_cpu_timeout",
       {.term_signal = SIGKILL, .cpu_timeout = true, .oom_group_kills = 1}, Outcome::kOom, 137,
       {"memory"}},
      {"oom_beats_seccomp",
       {.term_signal = SIGKILL, .seccomp_notified = true, .oom_group_kills = 1}, Outcome::kOom,
       137, {"memory"}},

      // Timeouts: the kill that enforces them is a consequence, not the cause.
      {"wall_timeout_sigkill", {.term_signal = SIGKILL, .wall_timeout = true},
       Outcome::kWallTimeout, 124, {"wall_time"}},
      {"wall_timeout_sigterm", {.term_signal = SIGTERM, .wall_timeout = true},
       Outcome::kWallTimeout, 124, {"wall_time"}},
      {"wall_timeout_exited_in_grace", {.exit_code = 0, .wall_timeout = true},
       Outcome::kWallTimeout, 124, {"wall_time"}},
      {"wall_beats_cpu", {.term_signal = SIGKILL, .wall_timeout = true, .cpu_timeout = true},
       Outcome::kWallTimeout, 124, {"wall_time"}},
      {"cpu_timeout_sigxcpu", {.term_signal = SIGXCPU, .cpu_timeout = true},
       Outcome::kCpuTimeout, 124, {"cpu_time"}},
      {"cpu_timeout_sigkill", {.term_signal = SIGKILL, .cpu_timeout = true},
       Outcome::kCpuTimeout, 124, {"cpu_time"}},
      {"wall_timeout_beats_seccomp",
       {.term_signal = SIGKILL, .wall_timeout = true, .seccomp_notified = true},
       Outcome::kWallTimeout, 124, {"wall_time"}},
      {"cpu_timeout_beats_sigsys", {.term_signal = SIGSYS, .cpu_timeout = true},
       Outcome::kCpuTimeout, 124, {"cpu_time"}},
      {"timeout_beats_sigxfsz", {.term_signal = SIGXFSZ, .wall_timeout = true},
       Outcome::kWallTimeout, 124, {"wall_time"}},
      {"timeout_alone_explains_a_missing_status", {.wall_timeout = true}, Outcome::kWallTimeout,
       124, {"wall_time"}},

      // output_limit: confine killed the job for it, so its SIGKILL is the consequence; a job
      // that wrote past the limit and exited before the kill still hit it.
      {"output_limit_sigkill", {.term_signal = SIGKILL, .output_limit = true}, Outcome::kOutputLimit, 153,
       {"output"}},
      {"output_limit_exit_0", {.exit_code = 0, .output_limit = true}, Outcome::kOutputLimit, 153, {"output"}},
      {"wall_timeout_beats_output_limit", {.term_signal = SIGKILL, .wall_timeout = true, .output_limit = true},
       Outcome::kWallTimeout, 124, {"wall_time"}},
      {"output_limit_beats_seccomp", {.term_signal = SIGKILL, .output_limit = true, .seccomp_notified = true},
       Outcome::kOutputLimit, 153, {"output"}},

      // seccomp.
      {"seccomp_notified_then_sigkill", {.term_signal = SIGKILL, .seccomp_notified = true},
       Outcome::kSeccompViolation, kSignalExit(SIGSYS), {}},
      {"sigsys_without_notification", {.term_signal = SIGSYS}, Outcome::kSeccompViolation, 159,
       {}},
      {"seccomp_notified_target_exited", {.exit_code = 0, .seccomp_notified = true},
       Outcome::kSeccompViolation, 159, {}},
      {"seccomp_beats_sigxfsz", {.term_signal = SIGXFSZ, .seccomp_notified = true},
       Outcome::kSeccompViolation, 159, {}},

      // file size.
      {"sigxfsz", {.term_signal = SIGXFSZ},
       Outcome::kFileSizeLimit, 153, {"file_size"}},
      {"sigxfsz_from_inherited_limit", {.term_signal = SIGXFSZ}, Outcome::kFileSizeLimit,
       kSignalExit(SIGXFSZ), {"file_size"}},
      {"sigxfsz_core", {.term_signal = SIGXFSZ, .core_dumped = true}, Outcome::kFileSizeLimit,
       153, {"file_size"}},

      // pids.max hits are a fact reported with any outcome, never an outcome.
      {"exit_0_with_pids_hits", {.exit_code = 0, .pids_max_hits = 4}, Outcome::kOk, 0,
       {"pids"}},
      {"exit_1_with_pids_hits", {.exit_code = 1, .pids_max_hits = 1}, Outcome::kExitNonzero, 1,
       {"pids"}},
      {"oom_with_pids_hits", {.term_signal = SIGKILL, .oom_group_kills = 1, .pids_max_hits = 1},
       Outcome::kOom, 137, {"memory", "pids"}},
      {"wall_timeout_with_pids_hits",
       {.term_signal = SIGKILL, .wall_timeout = true, .pids_max_hits = 9},
       Outcome::kWallTimeout, 124, {"wall_time", "pids"}},
      {"setup_error_with_pids_hits", {.pids_max_hits = 1, .setup_failed = true},
       Outcome::kSetupError, 125, {"pids"}},

      // Nothing observed and nothing explains it: confine lost the target.
      {"nothing_known", {}, Outcome::kSetupError, 125, {}},
      {"nothing_known_but_pids_hits", {.pids_max_hits = 1}, Outcome::kSetupError, 125,
       {"pids"}},
      // A plain oom_kill explains an ending only through a SIGKILL it did not see here.
      {"oom_kill_without_status", {.oom_kills = 1}, Outcome::kSetupError, 125, {}},
  };
  return kRows;
}
#pragma GCC diagnostic pop

class ClassifyTable : public ::testing::TestWithParam<Row> {};

TEST_P(ClassifyTable, MatchesContract) {
  const Row& row = GetParam();
  const Classification got = classify(row.facts);
  EXPECT_STREQ(report::to_string(got.outcome), report::to_string(row.outcome));
  EXPECT_EQ(got.exit_code, row.exit_code);
  EXPECT_EQ(got.limits_hit, row.limits_hit);
}

INSTANTIATE_TEST_SUITE_P(Rules, ClassifyTable, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& param_info) {
                           return std::string(param_info.param.name);
                         });

// The table must exercise every outcome, so a new Outcome cannot slip in untested.
TEST(Classify, TableCoversEveryOutcome) {
  std::set<std::string> seen;
  for (const Row& row : rows()) {
    seen.insert(report::to_string(row.outcome));
  }
  EXPECT_EQ(seen.size(), 11U) << "every report::Outcome needs at least one row";
}

// Exit codes confine owns are fixed per outcome, whatever signal delivered the ending.
TEST(Classify, OutcomesWithFixedExitCodes) {
  for (const Row& row : rows()) {
    const Classification got = classify(row.facts);
    switch (got.outcome) {
      case Outcome::kOk: EXPECT_EQ(got.exit_code, 0) << row.name; break;
      case Outcome::kOom: EXPECT_EQ(got.exit_code, 137) << row.name; break;
      case Outcome::kWallTimeout:
      case Outcome::kCpuTimeout: EXPECT_EQ(got.exit_code, report::kExitTimeout) << row.name; break;
      case Outcome::kSeccompViolation: EXPECT_EQ(got.exit_code, 159) << row.name; break;
      case Outcome::kFileSizeLimit: EXPECT_EQ(got.exit_code, 153) << row.name; break;
      case Outcome::kOutputLimit: EXPECT_EQ(got.exit_code, 153) << row.name; break;
      case Outcome::kSetupError:
        EXPECT_EQ(got.exit_code, report::kExitConfineFailed) << row.name;
        break;
      case Outcome::kExecError:
        EXPECT_TRUE(got.exit_code == 126 || got.exit_code == 127) << row.name;
        break;
      case Outcome::kSignaled: EXPECT_GT(got.exit_code, 128) << row.name; break;
      case Outcome::kExitNonzero: EXPECT_GT(got.exit_code, 0) << row.name; break;
    }
  }
}

}  // namespace
}  // namespace confine::reap
