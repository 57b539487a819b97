// The fixture every integration test uses: a fresh temp dir per test holding the job dir (bound
// read-write) and a canary secret beside it (never bound), a unique argv tag on every process
// the test starts, and checks after each test that nothing was left behind: no process carrying
// the tag, no cgroup leaf of a confine this test started, no temp dir.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "harness.h"

namespace integ {

bool is_root();
// CONFINE_REQUIRE_ALL=1: every skip is a failure (CI says this host can run everything).
bool require_all();
// The cgroup2 mount: /sys/fs/cgroup, or the first cgroup2 mount (hybrid hosts); "" when none.
std::string cgroup2_mount();
// The cgroup v2 directory confine puts its leaves in when run as root ("" when none).
std::string confine_cgroup_parent();
// rmdir, retried while the kernel still counts a dying process in it (EBUSY).
void remove_cgroup(const std::string& path);
// Controllers listed in cgroup.controllers of confine's cgroup parent (or of its parent).
bool cgroup_controller_available(const std::string& controller);

// A test that cannot run here: skipped, or failed when CONFINE_REQUIRE_ALL=1.
#define CONFINE_REQUIRE(condition, reason)                                      \
  do {                                                                          \
    if (!(condition)) {                                                         \
      if (::integ::require_all()) FAIL() << "CONFINE_REQUIRE_ALL=1: " << reason; \
      GTEST_SKIP() << reason;                                                   \
    }                                                                           \
  } while (0)

// Tests named *RootOnly* need root; the rootless pass filters them out (-*RootOnly*).
#define CONFINE_REQUIRE_ROOT() CONFINE_REQUIRE(::integ::is_root(), "needs root (run the rootless pass with --gtest_filter=-*RootOnly*)")

struct RunOptions {
  std::vector<std::string> args;  // more `confine run` options, placed before "--"
  std::vector<std::string> env;   // NAME=VALUE added to confine's own environment
  std::optional<int> stdin_fd;    // default /dev/null
  std::optional<int> stdout_fd, stderr_fd;  // default: pipes, read into RunResult::out and err
  bool bind_job = true;           // --rw <job dir>
  std::vector<std::string> wrapper;  // a command that runs confine (its argv before confine's own)
  std::chrono::milliseconds deadline{60000};
};

inline RunOptions with_args(std::vector<std::string> args) {
  RunOptions options;
  options.args = std::move(args);
  return options;
}
inline RunOptions with_env(std::vector<std::string> env) {
  RunOptions options;
  options.env = std::move(env);
  return options;
}
inline RunOptions with_stdin(int fd) {
  RunOptions options;
  options.stdin_fd = fd;
  return options;
}
// confine run through `confine-probe without-landlock`: the Landlock syscalls fail with ENOSYS
// for confine and everything it starts, as on a kernel without Landlock. The controls of the
// tests that show what the Landlock layer alone stops.
RunOptions without_landlock(RunOptions options = {});

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // `confine run --ro <probe dir> --rw <job> --report <file> OPTIONS -- <probe> --tag <tag> ARGS`.
  RunResult run_probe(const std::vector<std::string>& probe_args, const RunOptions& options = {});
  Running start_probe(const std::vector<std::string>& probe_args, const RunOptions& options = {});
  // Any command instead of the probe (still tagged through confine's own argv only).
  RunResult run_command(const std::vector<std::string>& command, const RunOptions& options = {});

  [[nodiscard]] std::string policy(const std::string& name) const;  // integration/policies/<name>
  [[nodiscard]] std::string job_path(const std::string& name) const { return job_ + "/" + name; }

  std::string base_;        // mkdtemp'd; removed in TearDown
  std::string job_;         // base_/job, bound read-write, writable by the sandbox's host uid
  std::string canary_;      // base_/secret/canary.txt, readable by anyone on the host, never bound
  std::string canary_text_;
  std::string tag_;         // unique to this test: in the argv of every process it starts

 private:
  Running start(const std::vector<std::string>& command, const RunOptions& options);
  std::vector<pid_t> confine_pids_;  // to find their cgroup leaves afterwards
  int runs_ = 0;
};

// The probe's contract (probe.h) and confine's report, checked together. Each prints the whole
// run (stdout, stderr, report) on failure.
::testing::AssertionResult Ended(const RunResult& r, const std::string& outcome, int exit_code);
// Ended, and the report's limits_hit names exactly `limit` ("wall_time", "cpu_time", ...).
::testing::AssertionResult EndedByLimit(const RunResult& r, const std::string& outcome, int exit_code,
                                        const std::string& limit);
// The probe ran and its operation failed the way a sandbox should make it fail (exit 1).
::testing::AssertionResult ProbeDenied(const RunResult& r);
// The probe ran and its operation succeeded (exit 0).
::testing::AssertionResult ProbeOk(const RunResult& r);
// The probe was killed by seccomp: SIGSYS, outcome seccomp_violation, exit 159.
// Outcome seccomp_violation, exit 159, and the report names `syscall` (the default policy's kill
// rules notify confine first); with an empty `syscall`, a direct SIGSYS kill with no name.
::testing::AssertionResult KilledBySeccomp(const RunResult& r, const std::string& syscall);

// First line of the probe's stdout (the errno name when it was denied).
std::string first_line(const std::string& text);
std::vector<std::string> lines(const std::string& text);

}  // namespace integ
