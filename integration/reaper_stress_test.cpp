// Hostile targets against the reaper (launch/reaper.cpp and the sandbox's init): output floods
// into pipes the caller reads slowly or not at all, processes stopped by SIGSTOP or sitting in a
// ptrace stop when the time runs out, fork storms that start at the first SIGTERM of the
// teardown, orphaned zombies that only the init can reap, thousands of threads. In every case
// the reaper must stay responsive: it ends the job on time (timeout + kill grace + a margin),
// kills every process of it, and reports the right outcome. The fixture's TearDown then checks
// that nothing tagged survived and no cgroup leaf is left.
//
// confine does not copy the target's output: the target inherits confine's stdout and stderr
// (docs/report.md; STYLE.md "The target's stdout and stderr are its own"). A flood is therefore
// the caller's to read, and what confine owes is that its limits hold while nobody reads.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "fixture.h"

extern char** environ;

namespace integ {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The kill grace of reaper-stress.toml, and how long after timeout + grace a job may still take
// to be gone and reported (a loaded two-core CI machine).
constexpr milliseconds kGrace{200};
constexpr milliseconds kMargin{2500};

milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

class ReaperStressTest : public SandboxTest {
 protected:
  // `confine run` under reaper-stress.toml with a wall timeout, through the fixture's harness
  // (which reads both pipes as fast as it can). Returns the run and how long it took.
  RunResult timed_run(const std::vector<std::string>& probe_args, const std::string& timeout,
                      milliseconds& took, std::vector<std::string> more = {}) {
    RunOptions options;
    options.args = {"-p", policy("reaper-stress.toml"), "--timeout", timeout};
    options.args.insert(options.args.end(), more.begin(), more.end());
    options.deadline = milliseconds(30000);
    const auto start = Clock::now();
    RunResult r = run_probe(probe_args, options);
    took = since(start);
    return r;
  }

  // A probe that prints `first` once it is set up and then holds out: the 500 ms wall-time
  // limit must end the whole job as a wall timeout within the kill grace (and a margin).
  ::testing::AssertionResult killed_at_the_timeout(const std::vector<std::string>& probe_args,
                                                   const std::string& first) {
    milliseconds took{};
    const RunResult r = timed_run(probe_args, "500ms", took);
    if (auto ended = EndedByLimit(r, "wall_timeout", 124, "wall_time"); !ended) return ended;
    if (first_line(r.out) != first) {
      return ::testing::AssertionFailure() << "the probe's first line is not '" << first << "'\n" << r.describe();
    }
    if (took >= milliseconds(500) + kGrace + kMargin) {
      return ::testing::AssertionFailure() << "took " << took.count() << " ms\n" << r.describe();
    }
    return ::testing::AssertionSuccess();
  }

  // A confine whose stdout and stderr are pipes this test reads only when it chooses to
  // (the fixture's harness always drains them). Tagged like every other run.
  struct Unread {
    pid_t pid = -1;
    int pidfd = -1;
    int out = -1;  // read ends
    int err = -1;
    std::string report;
  };

  Unread start_unread(const std::vector<std::string>& confine_args, const std::vector<std::string>& probe_args) {
    Unread u;
    u.report = base_ + "/report-unread-" + std::to_string(++unread_runs_) + ".json";
    std::vector<std::string> argv{confine_binary(), "run", "-p", policy("reaper-stress.toml"), "--ro", probe_dir(),
                                  "--report", u.report};
    argv.insert(argv.end(), confine_args.begin(), confine_args.end());
    argv.insert(argv.end(), {"--", probe_binary(), "--tag", tag_});
    argv.insert(argv.end(), probe_args.begin(), probe_args.end());
    std::vector<char*> ptrs;
    for (auto& a : argv) ptrs.push_back(a.data());
    ptrs.push_back(nullptr);
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return u;
    }
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    u.pid = ::fork();
    if (u.pid == 0) {
      if (::dup2(null, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) ::_exit(127);
      ::execve(ptrs[0], ptrs.data(), environ);
      ::_exit(127);
    }
    ::close(null);
    ::close(out[1]);
    ::close(err[1]);
    u.out = out[0];
    u.err = err[0];
    u.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, u.pid, 0));
    started_.push_back(u.pid);
    return u;
  }

  // True once confine has exited (not reaped yet), false after `timeout`.
  static bool exits_within(const Unread& u, milliseconds timeout) {
    pollfd p{u.pidfd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
  }

  // Reads both pipes to end-of-file (so a blocked confine can finish), reaps confine, returns
  // the run as the harness would.
  static RunResult finish(Unread& u) {
    RunResult r;
    for (int fd : {u.out, u.err}) ::fcntl(fd, F_SETFL, O_NONBLOCK);
    const auto until = Clock::now() + std::chrono::seconds(20);
    bool out_open = true;
    bool err_open = true;
    while ((out_open || err_open) && Clock::now() < until) {
      pollfd fds[2] = {{out_open ? u.out : -1, POLLIN, 0}, {err_open ? u.err : -1, POLLIN, 0}};
      (void)::poll(fds, 2, 100);
      char buf[65536];
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) (i == 0 ? out_open : err_open) = false;
        // Keep the tail of stderr only: the flood itself is not interesting.
        if (n > 0 && i == 1) r.err.append(buf, static_cast<size_t>(n));
        if (r.err.size() > 8192) r.err.erase(0, r.err.size() - 8192);
      }
    }
    r.timed_out = out_open || err_open;
    if (r.timed_out) ::kill(u.pid, SIGKILL);
    int status = 0;
    while (::waitpid(u.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
    for (int fd : {u.out, u.err, u.pidfd}) ::close(fd);
    u.pid = -1;
    if (auto text = read_text(u.report); text && !text->empty()) {
      r.report_text = *text;
      auto parsed = nlohmann::json::parse(*text, nullptr, false);
      if (!parsed.is_discarded()) r.report = std::move(parsed);
    }
    return r;
  }

  // Processes of this test other than confine itself (whose argv carries the tag too).
  std::vector<pid_t> job_processes(pid_t confine) const {
    auto found = processes_with_marker(tag_);
    std::erase(found, confine);
    return found;
  }

  void TearDown() override {
    // A confine this test started and left (a failed assertion): SIGKILL takes its sandbox
    // along (the parent-death signal), and the fixture then checks that it did.
    for (pid_t pid : started_) {
      if (::kill(pid, 0) == 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
    // The fixture only knows the confines it started itself: check this test's leaves here.
    if (const std::string parent = confine_cgroup_parent(); !parent.empty()) {
      for (pid_t pid : started_) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(parent, ec)) {
          if (e.path().filename().string().rfind("job-" + std::to_string(pid) + "-", 0) == 0) {
            ADD_FAILURE() << "leftover cgroup " << e.path();
            remove_cgroup(e.path().string());
          }
        }
      }
    }
    SandboxTest::TearDown();
  }

 private:
  std::vector<pid_t> started_;
  int unread_runs_ = 0;
};

// --- Output floods ------------------------------------------------------------------------

// The target fills confine's stdout and blocks there: nobody reads. The wall timeout must still
// end it on time, and confine (which writes nothing to stdout) must exit on its own.
TEST_F(ReaperStressTest, StdoutFloodNobodyReadsStillTimesOut) {
  const auto start = Clock::now();
  Unread u = start_unread({"--timeout", "500ms"}, {"flood", "stdout"});
  ASSERT_GT(u.pid, 0);
  EXPECT_TRUE(exits_within(u, milliseconds(500) + kGrace + kMargin))
      << "confine did not end a job blocked on a full stdout pipe after " << since(start).count() << " ms";
  const RunResult r = finish(u);
  EXPECT_TRUE(Ended(r, "wall_timeout", 124));
}

// The same on stderr, which confine shares with the target for its own log lines: at the
// default log level confine writes nothing there while the job runs.
TEST_F(ReaperStressTest, StderrFloodNobodyReadsStillTimesOut) {
  const auto start = Clock::now();
  Unread u = start_unread({"--timeout", "500ms"}, {"flood", "stderr"});
  ASSERT_GT(u.pid, 0);
  EXPECT_TRUE(exits_within(u, milliseconds(500) + kGrace + kMargin))
      << "confine did not end a job blocked on a full stderr pipe after " << since(start).count() << " ms";
  const RunResult r = finish(u);
  EXPECT_TRUE(Ended(r, "wall_timeout", 124));
}

// With --log-level info confine has something to say when the time is up ("time limit
// reached"); a log line written into the stderr pipe the target keeps full would block confine
// before the kill it announces, and the limit would never be enforced. Confine may wait for the
// caller to read before it can exit (its log line is the caller's to read), but the job must be
// gone on time.
TEST_F(ReaperStressTest, StderrFloodWithVerboseLoggingJobStillKilledOnTime) {
  Unread u = start_unread({"--timeout", "500ms", "--log-level", "info"}, {"flood", "stderr"});
  ASSERT_GT(u.pid, 0);
  // Wait until the job should be gone: timeout + grace + margin, or confine exited.
  (void)exits_within(u, milliseconds(500) + kGrace + kMargin);
  const auto left = job_processes(u.pid);
  EXPECT_TRUE(left.empty()) << left.size() << " job processes still run " << (500 + kGrace.count() + kMargin.count())
                            << " ms into a 500 ms job whose stderr nobody reads: confine blocked writing its own "
                               "log line before enforcing the limit";
  const RunResult r = finish(u);  // reading lets a blocked confine finish
  EXPECT_TRUE(Ended(r, "wall_timeout", 124));
  EXPECT_NE(r.err.find("time limit reached"), std::string::npos) << r.err.substr(r.err.size() > 500 ? r.err.size() - 500 : 0);
}

// A slow reader on both streams: the job ends on time.
TEST_F(ReaperStressTest, SlowReaderOfBothStreamsStillTimesOut) {
  const auto start = Clock::now();
  Unread u = start_unread({"--timeout", "500ms"}, {"flood", "both"});
  ASSERT_GT(u.pid, 0);
  bool exited = false;
  const auto bound = milliseconds(500) + kGrace + kMargin;
  while (!exited && since(start) < bound) {
    char buf[4096];
    for (int fd : {u.out, u.err}) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 0) == 1) (void)!::read(fd, buf, sizeof buf);
    }
    exited = exits_within(u, milliseconds(20));
  }
  EXPECT_TRUE(exited) << "confine still running " << since(start).count() << " ms into a 500 ms job";
  const RunResult r = finish(u);
  EXPECT_TRUE(Ended(r, "wall_timeout", 124));
}

// --- Stopped processes ----------------------------------------------------------------------

// SIGSTOP'd and ignoring SIGTERM: the SIGTERM waits (a stopped process does not run its
// handlers), the grace passes, SIGKILL works on stopped processes.
TEST_F(ReaperStressTest, SelfStoppedTargetIsKilledAtTimeout) {
  EXPECT_TRUE(killed_at_the_timeout({"stop-self"}, "stopping"));
}

// A child in a ptrace stop (its tracer, the target, never resumes it): only SIGKILL ends it.
TEST_F(ReaperStressTest, PtraceStoppedChildIsKilledAtTimeout) {
  EXPECT_TRUE(killed_at_the_timeout({"ptrace-stop"}, "tracee stopped"))
      << "(the policy must allow ptrace for this test)";
}

// --- Fork storms, zombies, threads ------------------------------------------------------------

// Quiet until the reaper's SIGTERM, then a fork storm whose pids change all the time, through
// the whole kill grace: the kill must still get every one of them.
TEST_F(ReaperStressTest, ForkStormStartedByTheTeardownIsKilled) {
  EXPECT_TRUE(killed_at_the_timeout({"term-storm", "4"}, "armed"));
}

// A fork storm already raging when the time runs out.
TEST_F(ReaperStressTest, ForkStormRunningAtTimeoutIsKilled) {
  EXPECT_TRUE(killed_at_the_timeout({"fork-storm", "4"}, "storm started"));
}

// 100 orphaned zombies under a limit of 32 processes: zombies count against the limit, so the
// churn only completes if the sandbox's init reaps every orphan, and keeps up (none is left
// after a short pause). Then the target exits leaving 20 unreaped children, which the init
// inherits; the run still ends ok and the fixture finds nothing left.
TEST_F(ReaperStressTest, InitReapsOrphanedZombies) {
  milliseconds took{};
  const RunResult r = timed_run({"zombie-churn", "100", "20"}, "20s", took, {"--pids", "32", "--best-effort"});
  EXPECT_TRUE(ProbeOk(r));
  EXPECT_EQ(first_line(r.out), "churned=100 orphan_zombies=0") << r.describe();
}

// Thousands of threads, SIGTERM blocked in all of them, holding on at the timeout. On this kind
// of host the pids limit is RLIMIT_NPROC (--best-effort; per user namespace), which counts
// threads too: 3000 lets 2000 through.
TEST_F(ReaperStressTest, ThousandsOfThreadsAreKilledAtTimeout) {
  milliseconds took{};
  const RunResult r = timed_run({"threads", "2000", "--hold"}, "3s", took, {"--pids", "3000", "--best-effort"});
  EXPECT_TRUE(Ended(r, "wall_timeout", 124));
  EXPECT_EQ(first_line(r.out), "threads=2000") << r.describe();
  EXPECT_LT(took, milliseconds(3000) + kGrace + kMargin);
}

// The pids limit holds for threads: the default policy's 64 stops them well short of 500.
TEST_F(ReaperStressTest, ThreadsStopAtThePidsLimit) {
  milliseconds took{};
  const RunResult r = timed_run({"threads", "500"}, "20s", took);
  EXPECT_TRUE(ProbeDenied(r));
  const auto l = lines(r.out);
  ASSERT_EQ(l.size(), 2U) << r.describe();
  EXPECT_EQ(l[0], "EAGAIN") << r.describe();
  unsigned long count = 0;
  ASSERT_EQ(std::sscanf(l[1].c_str(), "threads=%lu", &count), 1) << r.describe();
  EXPECT_LT(count, 64U) << r.describe();
  EXPECT_GT(count, 0U) << r.describe();
}

}  // namespace
}  // namespace integ
