// The report for a person: the one line a run that did not end ok prints (outcome_sentence),
// the text of `confine report FILE` (to_text), and reading a report file back (from_json_text).
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <string>

#include "confine/report.h"

namespace confine::report {
namespace {

// A report with the protections a plan states its limits in (plan.cpp, resources.cpp).
Report with_limits(Outcome outcome, int exit_code) {
  Report r;
  r.confine_version = "0.1.0";
  r.outcome = outcome;
  r.exit_code = exit_code;
  r.enforced = {{"wall_time", "enforced", "parent timer, then SIGTERM/SIGKILL of the job", "2000ms"},
                {"cpu_time", "enforced", "cgroup v2 cpu.stat usage_usec, polled", "90000ms"},
                {"memory_limit", "enforced", "cgroup v2 memory.max", "512M"},
                {"output_limit", "enforced", "bytes relayed, then SIGKILL of the job", "1M of stdout and stderr"}};
  return r;
}

TEST(OutcomeSentence, OneLinePerEnding) {
  Report ok = with_limits(Outcome::kOk, 0);
  ok.target_exit_code = 0;
  EXPECT_EQ(outcome_sentence(ok), "");

  Report wall = with_limits(Outcome::kWallTimeout, 124);
  wall.signal = SIGKILL;
  EXPECT_EQ(outcome_sentence(wall), "wall time limit 2s reached; job killed");
  EXPECT_EQ(outcome_sentence(with_limits(Outcome::kCpuTimeout, 124)), "CPU time limit 1m30s reached; job killed");
  EXPECT_EQ(outcome_sentence(with_limits(Outcome::kOom, 137)), "out of memory (limit 512M)");

  Report seccomp = with_limits(Outcome::kSeccompViolation, 159);
  seccomp.seccomp_violation = SeccompViolation{"socket", 41, "x86_64"};
  EXPECT_EQ(outcome_sentence(seccomp), "job killed by seccomp: socket (nr 41)");
  seccomp.seccomp_violation.reset();
  EXPECT_EQ(outcome_sentence(seccomp),
            "job killed by seccomp (SIGSYS; the syscall was not named: no seccomp supervisor for this run)");

  Report output = with_limits(Outcome::kOutputLimit, 153);
  output.output = OutputStats{1 << 20, 0, 4096, 1 << 20};
  EXPECT_EQ(outcome_sentence(output), "output limit 1M reached; job killed (4.0 KiB not passed on)");

  Report nonzero = with_limits(Outcome::kExitNonzero, 3);
  nonzero.target_exit_code = 3;
  EXPECT_EQ(outcome_sentence(nonzero), "job exited with code 3");

  Report signaled = with_limits(Outcome::kSignaled, 139);
  signaled.signal = SIGSEGV;
  signaled.core_dumped = true;
  EXPECT_EQ(outcome_sentence(signaled), "job killed by SIGSEGV (core dumped)");

  EXPECT_EQ(outcome_sentence(with_limits(Outcome::kFileSizeLimit, 153)),
            "job wrote past its file size limit; killed by SIGXFSZ");
}

TEST(OutcomeSentence, ExecErrorsSayWhatWasNotFound) {
  Report r = with_limits(Outcome::kExecError, 127);
  r.exec_error = ExecFailure{"/no/such", ENOENT};
  EXPECT_EQ(outcome_sentence(r), "/no/such: not found in the sandbox");
  r.exec_error->message = "/usr/bin/tesseract: its interpreter /lib64/ld-linux-x86-64.so.2 is not in the sandbox";
  EXPECT_EQ(outcome_sentence(r), r.exec_error->message);
  r.exec_error = ExecFailure{"/job/x", EACCES};
  EXPECT_EQ(outcome_sentence(r),
            "/job/x: permission denied (not executable for the sandbox's user, or on a noexec mount)");
}

TEST(OutcomeSentence, ACancelSaysSoAndHowTheJobEnded) {
  Report killed = with_limits(Outcome::kSignaled, 137);
  killed.signal = SIGKILL;
  killed.cancelled = "SIGTERM";
  EXPECT_EQ(outcome_sentence(killed), "cancelled by SIGTERM; the job did not end within its kill grace and was killed (SIGKILL)");
  Report ended = with_limits(Outcome::kSignaled, 130);
  ended.signal = SIGINT;
  ended.cancelled = "SIGINT";
  EXPECT_EQ(outcome_sentence(ended), "cancelled by SIGINT; job killed by SIGINT");
  Report clean = with_limits(Outcome::kOk, 0);
  clean.target_exit_code = 0;
  clean.cancelled = "SIGTERM";
  EXPECT_EQ(outcome_sentence(clean), "cancelled by SIGTERM; job exited with code 0");
  Report wall = with_limits(Outcome::kWallTimeout, 124);
  wall.cancelled = "SIGINT";
  EXPECT_EQ(outcome_sentence(wall), "wall time limit 2s reached; job killed (cancelled by SIGINT)");
}

TEST(ReportText, ReadBackAndPrintedForAPerson) {
  Report r = with_limits(Outcome::kWallTimeout, 124);
  r.signal = SIGKILL;
  r.limits_hit = {"wall_time"};
  r.wall_time_us = 2'004'000;
  r.cpu_user_us = 1'500;
  r.memory_peak_bytes = 3 << 20;
  r.command = {"sleep", "10"};
  r.policy_path = "/usr/share/confine/policies/default.toml";
  r.policy_sha256 = std::string(64, 'a');
  r.enforced.push_back({"swap_limit", "best_effort_skipped", "cgroup v2 memory.swap.max", "0 not enforced"});
  r.enforced.push_back({"pids_limit", "enforced_fallback", "rlimit RLIMIT_NPROC (per user namespace)", "64 processes"});
  r.enforced.push_back({"cpu_limit", "not_requested", "cgroup v2 cpu.max", "no limit set"});
  r.warnings = {"limits.swap = 0 not enforced: no cgroup v2 'memory' controller here"};
  r.phases = {{"policy", 400}, {"plan", 100}, {"run", 2'004'000}};

  auto back = from_json_text(to_json_text(r));
  ASSERT_TRUE(back) << back.error().render();
  EXPECT_EQ(to_json_text(*back), to_json_text(r)) << "the reader is the writer's inverse";

  const std::string text = to_text(*back);
  for (const char* line : {"outcome       wall_timeout: wall time limit 2s reached; job killed\n",
                           "exit code     124\n",
                           "command       sleep 10\n",
                           "target        killed by SIGKILL\n",
                           "times         wall 2.004 s, CPU 1.5 ms user + 0 us system\n",
                           "peaks         memory 3.0 MiB, processes not measured\n",
                           "limits hit    wall_time\n",
                           "weaker        pids_limit: rlimit RLIMIT_NPROC (per user namespace): 64 processes\n",
                           "NOT enforced  swap_limit: 0 not enforced\n",
                           "not asked for cpu_limit\n",
                           "setup         500 us (policy 400 us, plan 100 us)\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
  }
}

TEST(ReportText, WhatIsNoReportIsRefused) {
  EXPECT_FALSE(from_json_text("not json"));
  EXPECT_FALSE(from_json_text("[1, 2]"));
  EXPECT_FALSE(from_json_text(R"({"report_version": 2, "outcome": "ok"})"));
  EXPECT_FALSE(from_json_text(R"({"report_version": 1, "outcome": "exploded"})"));
  // Keys of a later report_version 1 and odd types are ignored, not fatal.
  auto lenient = from_json_text(R"({"report_version": 1, "outcome": "ok", "exit_code": 0, "future": {},
                                    "target": {"exit_code": "zero", "core_dumped": "no"}})");
  ASSERT_TRUE(lenient);
  EXPECT_FALSE(lenient->target_exit_code);
  EXPECT_FALSE(lenient->core_dumped);
}

TEST(ReportText, NeverStartedClearsTheTargetsFacts) {
  Report r;
  r.target_exit_code = 125;
  r.signal = 9;
  r.wall_time_us = 5;
  r.cpu_user_us = 6;
  r.cpu_system_us = 7;
  mark_never_started(r);
  EXPECT_FALSE(r.target_exit_code);
  EXPECT_FALSE(r.signal);
  EXPECT_EQ(r.wall_time_us + r.cpu_user_us + r.cpu_system_us, 0U);
}

}  // namespace
}  // namespace confine::report
