// Launcher faults: confine killed at random moments of its setup and of the run, and a caller
// that gets things wrong (stdout or stderr closed or a broken pipe, a report path on a full file
// system, the job directory deleted or replaced by a symlink while the job runs or while it is
// being set up, too few file descriptors, a policy file rewritten while confine reads it).
// Each must end in a clear outcome and error: never a hang, a crash, a half-applied sandbox, a
// write outside what the caller bound, or anything left behind (the fixture's TearDown checks
// tagged processes, this test's cgroup leaves and temp dirs).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "fixture.h"

extern char** environ;

namespace integ {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

// What confine's stdout or stderr is.
enum class Stream {
  kFile,        // a file the test reads afterwards
  kClosed,      // not open at all
  kBrokenPipe,  // a pipe whose read end is already closed
};

struct Spawn {
  explicit Spawn(std::vector<std::string> command) : argv(std::move(command)) {}
  std::vector<std::string> argv;
  Stream out = Stream::kFile;
  Stream err = Stream::kFile;
  std::optional<rlim_t> nofile_soft;  // RLIMIT_NOFILE's soft limit for confine (hard unchanged)
  milliseconds deadline{20000};
};

class FaultTest : public SandboxTest {
 protected:
  // `confine run --ro <probe dir> --rw <job> --report <file> ARGS -- <probe> --tag <tag> PROBE_ARGS`
  // with the streams and limits of `spawn` (the fixture's harness always gives pipes).
  std::vector<std::string> run_argv(const std::string& report, const std::vector<std::string>& args,
                                    const std::vector<std::string>& probe_args) const {
    std::vector<std::string> argv{confine_binary(), "run", "--ro", probe_dir(), "--rw", job_, "--report", report};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--", probe_binary(), "--tag", tag_});
    argv.insert(argv.end(), probe_args.begin(), probe_args.end());
    return argv;
  }

  // Runs `spawn` (fork + execve, no shell) and waits for it up to its deadline.
  RunResult run_spawn(const Spawn& spawn, const std::string& report_path = "") {
    RunResult result;
    const std::string out_path = base_ + "/spawn-" + std::to_string(++spawns_) + ".out";
    const std::string err_path = base_ + "/spawn-" + std::to_string(spawns_) + ".err";
    auto stream_fd = [](Stream s, const std::string& path) {
      if (s == Stream::kFile) return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (s == Stream::kClosed) return -1;
      int p[2];
      if (::pipe2(p, O_CLOEXEC) < 0) return -1;
      ::close(p[0]);  // nobody will ever read: writes fail with EPIPE (or SIGPIPE)
      return p[1];
    };
    const int out = stream_fd(spawn.out, out_path);
    const int err = stream_fd(spawn.err, err_path);
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    std::vector<std::string> argv = spawn.argv;
    std::vector<char*> ptrs;
    for (auto& a : argv) ptrs.push_back(a.data());
    ptrs.push_back(nullptr);
    rlimit nofile{};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    if (spawn.nofile_soft) nofile.rlim_cur = *spawn.nofile_soft;

    const pid_t pid = ::fork();
    if (pid == 0) {
      // Async-signal-safe calls only until execve.
      if (::dup2(in, 0) < 0) ::_exit(127);
      for (int fd : {1, 2}) {
        const int source = fd == 1 ? out : err;
        if (source >= 0) {
          if (::dup2(source, fd) < 0) ::_exit(127);
        } else {
          ::close(fd);
        }
      }
      if (spawn.nofile_soft && ::setrlimit(RLIMIT_NOFILE, &nofile) < 0) ::_exit(127);
      ::execve(ptrs[0], ptrs.data(), environ);
      ::_exit(127);
    }
    for (int fd : {in, out, err}) {
      if (fd >= 0) ::close(fd);
    }
    if (pid < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      return result;
    }
    spawned_.push_back(pid);
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    pollfd p{pidfd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(spawn.deadline.count())) != 1) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
    }
    ::close(pidfd);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
    if (spawn.out == Stream::kFile) result.out = read_text(out_path).value_or("");
    if (spawn.err == Stream::kFile) result.err = read_text(err_path).value_or("");
    if (!report_path.empty()) {
      if (auto text = read_text(report_path); text && !text->empty()) {
        result.report_text = *text;
        auto parsed = nlohmann::json::parse(*text, nullptr, false);
        if (!parsed.is_discarded()) result.report = std::move(parsed);
      }
    }
    return result;
  }

  // Leaves named after confines this test started (job-<pid>-*), present right now.
  std::vector<std::string> leaves_of(const std::vector<pid_t>& pids) const {
    std::vector<std::string> found;
    const std::string parent = confine_cgroup_parent();
    if (parent.empty()) return found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(parent, ec)) {
      for (pid_t pid : pids) {
        if (e.path().filename().string().rfind("job-" + std::to_string(pid) + "-", 0) == 0) {
          found.push_back(e.path().string());
        }
      }
    }
    return found;
  }

  // Nothing of this test runs any more (a short grace for a sandbox being torn down).
  ::testing::AssertionResult NothingLeft(milliseconds grace = milliseconds(2000)) const {
    const auto left = wait_until_gone(tag_, grace);
    if (left.empty()) return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure() << left.size() << " processes of this test still run:";
    for (pid_t pid : left) failure << "\n  " << pid << " " << read_text("/proc/" + std::to_string(pid) + "/cmdline").value_or("?");
    return failure;
  }

  void TearDown() override {
    // The fixture checks the leaves of the confines it started; these are the others.
    for (const auto& leaf : leaves_of(spawned_)) {
      ADD_FAILURE() << "leftover cgroup " << leaf;
      remove_cgroup(leaf);
    }
    SandboxTest::TearDown();
  }

  std::vector<pid_t> spawned_;
  int spawns_ = 0;
};

std::string fd_listing_problems(const std::string& listing) {
  // "N TARGET" lines; only 0-2 may exist, and a standard fd confine had to fill itself may only
  // be /dev/null: never the report file, a cgroup directory or any other descriptor of confine's.
  std::string problems;
  for (const auto& line : lines(listing)) {
    const std::string fd = line.substr(0, line.find(' '));
    if (fd != "0" && fd != "1" && fd != "2") problems += "unexpected fd " + line + "\n";
  }
  return problems;
}

// --- confine killed ----------------------------------------------------------------------------

// SIGKILL at 30 random moments in the first 30 ms: policy, plan, cgroup leaf, clone, id maps,
// the child's mounts, the target's exec. confine cannot clean up after SIGKILL; the sandbox must
// die with it (the init's parent-death signal, re-armed after its id switch; a child that lost
// its parent before arming it finds the sync pipe closed), and the leaf it may have left is the
// next run's to remove (cgroup::Leaf::create removes leaves whose confine is gone).
TEST_F(FaultTest, KilledAtRandomMomentsOfSetupLeavesNothing) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_us(0, 30000);
  std::vector<pid_t> killed;
  for (int trial = 0; trial < 30; ++trial) {
    RunOptions options;
    options.deadline = milliseconds(20000);
    Running running = start_probe({"sleep", "30"}, options);
    const int us = delay_us(rng);
    std::this_thread::sleep_for(std::chrono::microseconds(us));
    running.signal(SIGKILL);
    killed.push_back(running.pid());
    const RunResult r = running.wait();
    EXPECT_EQ(r.term_signal, SIGKILL) << "trial " << trial << " (" << us << " us)\n" << r.describe();
    EXPECT_TRUE(NothingLeft()) << "trial " << trial << ": confine SIGKILLed " << us << " us after its start";
  }
  // Whatever leaves the killed confines left, the next run removes (the fixture's TearDown
  // fails on any that remain).
  const size_t stale = leaves_of(killed).size();
  EXPECT_TRUE(ProbeOk(run_probe({"exit", "0"})));
  EXPECT_TRUE(leaves_of(killed).empty()) << "the next run left " << leaves_of(killed).size() << " of " << stale
                                         << " stale leaves";
  RecordProperty("stale_leaves_before_next_run", static_cast<int>(stale));
}

// Started processes at the moment of the kill: the target (and its children) die with the
// sandbox's init.
TEST_F(FaultTest, KilledDuringTheRunLeavesNothing) {
  for (int trial = 0; trial < 5; ++trial) {
    Running running = start_probe({"daemonize", "-"});  // a daemon that ignores SIGTERM, and its parent
    // Wait for the daemon (the probe's argv, not confine's) before killing. Counted once per
    // look: the daemon's parent exits on its own, so a second look may find one process fewer.
    const auto until = Clock::now() + std::chrono::seconds(10);
    size_t seen = 0;
    while ((seen = processes_with_marker(tag_).size()) < 3 && Clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    ASSERT_GE(seen, 3U) << "the probe and its daemon did not start";
    running.signal(SIGKILL);
    const RunResult r = running.wait();
    EXPECT_EQ(r.term_signal, SIGKILL) << r.describe();
    EXPECT_TRUE(NothingLeft()) << "trial " << trial;
  }
  // The leaves the killed confines left (run as root) are the next run's to remove.
  EXPECT_TRUE(ProbeOk(run_probe({"exit", "0"})));
}

// Run as root, a killed confine leaves its leaf behind (nothing else can remove it), and the
// next confine removes it.
// Serial (ctest RUN_SERIAL, by the name): any confine started meanwhile by another test would
// remove the stale leaf before this test looks for it.
TEST_F(FaultTest, StaleLeafOfAKilledConfineIsRemovedByTheNextRunRootOnlySerial) {
  CONFINE_REQUIRE_ROOT();
  CONFINE_REQUIRE(!confine_cgroup_parent().empty(), "no cgroup v2 hierarchy for confine's leaves");
  Running running = start_probe({"sleep", "30"});
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (processes_with_marker(tag_).size() < 2 && Clock::now() < until) std::this_thread::sleep_for(milliseconds(5));
  const pid_t pid = running.pid();
  running.signal(SIGKILL);
  (void)running.wait();
  ASSERT_TRUE(NothingLeft());
  EXPECT_EQ(leaves_of({pid}).size(), 1U) << "a SIGKILLed confine's leaf should still be there";
  EXPECT_TRUE(ProbeOk(run_probe({"exit", "0"})));
  EXPECT_TRUE(leaves_of({pid}).empty()) << "the next run did not remove the stale leaf";
}

// --- The caller's streams ------------------------------------------------------------------------

// stdout closed: the target still runs, and whatever its fd 1 is, it is not a descriptor of
// confine's (the report file would be the first thing confine opens, into the lowest free fd).
TEST_F(FaultTest, StdoutClosedRunsAndLeaksNoDescriptor) {
  const std::string report = base_ + "/report.json";
  Spawn spawn{run_argv(report, {}, {"fds-to", job_path("fds.txt")})};
  spawn.out = Stream::kClosed;
  const RunResult r = run_spawn(spawn, report);
  EXPECT_TRUE(Ended(r, "ok", 0));
  const std::string listing = read_text(job_path("fds.txt")).value_or("<none>");
  EXPECT_EQ(fd_listing_problems(listing), "") << listing;
  for (const auto& line : lines(listing)) {
    if (line.rfind("1 ", 0) == 0) {
      EXPECT_EQ(line, "1 /dev/null") << "the target's stdout is not the caller's";
    }
  }
  EXPECT_TRUE(NothingLeft());
}

// stderr closed: confine's log lines must not land in the report (opened into fd 2), which must
// stay one valid JSON document, and the target must not get the report file as its stderr.
TEST_F(FaultTest, StderrClosedKeepsTheReportValid) {
  const std::string report = base_ + "/report.json";
  Spawn spawn{run_argv(report, {}, {"fds-to", job_path("fds.txt")})};
  spawn.err = Stream::kClosed;
  const RunResult r = run_spawn(spawn, report);
  EXPECT_TRUE(Ended(r, "ok", 0)) << "(the report must be JSON alone, without confine's log lines)";
  const std::string listing = read_text(job_path("fds.txt")).value_or("<none>");
  EXPECT_EQ(fd_listing_problems(listing), "") << listing;
  for (const auto& line : lines(listing)) {
    if (line.rfind("2 ", 0) == 0) {
      EXPECT_EQ(line, "2 /dev/null") << "the target's stderr is not the caller's";
    }
  }
  EXPECT_TRUE(NothingLeft());
}

// stderr is a pipe nobody reads any more: confine's warnings fail with EPIPE, and confine goes on
// (a SIGPIPE death would lose the report and the run).
TEST_F(FaultTest, BrokenStderrPipeStillRunsAndReports) {
  const std::string report = base_ + "/report.json";
  Spawn spawn{run_argv(report, {}, {"exit", "0"})};
  spawn.err = Stream::kBrokenPipe;
  const RunResult r = run_spawn(spawn, report);
  EXPECT_TRUE(Ended(r, "ok", 0));
  EXPECT_TRUE(NothingLeft());
}

// stdout is a broken pipe and the target writes a lot to it: the target dies of SIGPIPE (its
// default disposition, whatever confine itself does with SIGPIPE), and the report says so.
TEST_F(FaultTest, BrokenStdoutPipeEndsTheTargetWithSigpipe) {
  const std::string report = base_ + "/report.json";
  Spawn spawn{run_argv(report, {}, {"flood", "stdout", "64"})};
  spawn.out = Stream::kBrokenPipe;
  const RunResult r = run_spawn(spawn, report);
  EXPECT_TRUE(Ended(r, "signaled", 128 + SIGPIPE));
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["target"]["signal"], SIGPIPE);
  EXPECT_TRUE(NothingLeft());
}

// --- The report's file system -------------------------------------------------------------------

// /dev/full accepts the open and fails every write with ENOSPC: the job runs, but a caller that
// asked for a report and did not get one must not see success.
TEST_F(FaultTest, ReportToDevFullFailsClearly) {
  Spawn spawn{run_argv("/dev/full", {}, {"exit", "0"})};
  const RunResult r = run_spawn(spawn);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find("report"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_TRUE(NothingLeft());
}

// A real full file system: a 4 KiB tmpfs, filled up, mounted by the test (and always unmounted).
TEST_F(FaultTest, ReportOnAFullFileSystemFailsClearlyRootOnly) {
  CONFINE_REQUIRE_ROOT();
  const std::string small = base_ + "/small";
  ASSERT_EQ(::mkdir(small.c_str(), 0755), 0);
  ASSERT_EQ(::mount("confine-fault-test", small.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=0755"), 0)
      << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{small};
  {
    const int fd = ::open((small + "/filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    const std::string block(4096, 'x');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    EXPECT_EQ(errno, ENOSPC);
    ::close(fd);
  }
  const std::string report = small + "/report.json";
  Spawn spawn{run_argv(report, {}, {"exit", "0"})};
  const RunResult r = run_spawn(spawn);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_TRUE(NothingLeft());
  // The mount goes with the test, and is seen to go.
  ASSERT_EQ(::umount2(small.c_str(), 0), 0) << std::strerror(errno);
  unmount.path = "/nonexistent";  // unmounted already
  EXPECT_EQ(read_text("/proc/self/mountinfo").value_or("").find(" " + small + " "), std::string::npos);
}

// --- The job directory --------------------------------------------------------------------------

// The job directory is bound by fd at setup. Replaced by a symlink to somewhere else mid-run,
// nothing may follow the new path: every write lands in the original directory inode.
TEST_F(FaultTest, JobDirReplacedBySymlinkMidRunKeepsWritingToTheOriginal) {
  const std::string elsewhere = base_ + "/elsewhere";
  const std::string original = base_ + "/job.orig";
  ASSERT_EQ(::mkdir(elsewhere.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(elsewhere.c_str(), 0777), 0);
  Running running = start_probe({"write-files", job_, "30", "20"});
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (!fs::exists(job_path("file-0")) && Clock::now() < until) std::this_thread::sleep_for(milliseconds(2));
  ASSERT_TRUE(fs::exists(job_path("file-0"))) << "the probe never wrote its first file";
  ASSERT_EQ(::rename(job_.c_str(), original.c_str()), 0);
  ASSERT_EQ(::symlink(elsewhere.c_str(), job_.c_str()), 0);
  const RunResult r = running.wait();
  EXPECT_TRUE(ProbeOk(r));
  EXPECT_EQ(first_line(r.out), "written=30 failed=0 first_error=none") << r.describe();
  size_t in_original = 0;
  for (const auto& e : fs::directory_iterator(original)) in_original += e.path().filename().string().rfind("file-", 0) == 0;
  EXPECT_EQ(in_original, 30U);
  EXPECT_TRUE(fs::is_empty(elsewhere)) << "a write followed the symlink out of the bound directory";
  ::unlink(job_.c_str());
  ::rename(original.c_str(), job_.c_str());
}

// Deleted mid-run: the target's writes fail cleanly (ENOENT in a deleted directory), and nothing
// appears on the host: the directory is not recreated.
TEST_F(FaultTest, JobDirDeletedMidRunFailsCleanly) {
  Running running = start_probe({"write-files", job_, "30", "20"});
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (!fs::exists(job_path("file-0")) && Clock::now() < until) std::this_thread::sleep_for(milliseconds(2));
  ASSERT_TRUE(fs::exists(job_path("file-0"))) << "the probe never wrote its first file";
  remove_tree(job_);
  ASSERT_FALSE(fs::exists(job_));
  const RunResult r = running.wait();
  EXPECT_TRUE(ProbeOk(r));
  unsigned long written = 0;
  unsigned long failed = 0;
  char error[32] = {};
  ASSERT_EQ(std::sscanf(first_line(r.out).c_str(), "written=%lu failed=%lu first_error=%31s", &written, &failed, error), 3)
      << r.describe();
  EXPECT_GT(failed, 0U) << r.describe();
  EXPECT_EQ(std::string(error), "ENOENT") << r.describe();
  EXPECT_FALSE(fs::exists(job_)) << "the deleted job directory came back on the host";
}

// Replaced while confine is setting up (random moments in its first 20 ms): confine either
// binds the original directory (the files land there) or refuses the symlink (setup_error), and
// never writes through it.
TEST_F(FaultTest, JobDirReplacedDuringSetupNeverRedirects) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_us(0, 20000);
  const std::string elsewhere = base_ + "/elsewhere";
  ASSERT_EQ(::mkdir(elsewhere.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(elsewhere.c_str(), 0777), 0);
  int bound = 0;
  int refused = 0;
  for (int trial = 0; trial < 15; ++trial) {
    const std::string dir = base_ + "/jobs-" + std::to_string(trial);
    const std::string original = dir + ".orig";
    ASSERT_EQ(::mkdir(dir.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
    RunOptions options;
    options.bind_job = false;
    options.args = {"--rw", dir};
    Running running = start_probe({"write-files", dir, "3", "0"}, options);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ASSERT_EQ(::rename(dir.c_str(), original.c_str()), 0);
    ASSERT_EQ(::symlink(elsewhere.c_str(), dir.c_str()), 0);
    const RunResult r = running.wait();
    if (r.exit_code == 0) {
      ++bound;
      EXPECT_TRUE(ProbeOk(r));
      EXPECT_EQ(first_line(r.out), "written=3 failed=0 first_error=none") << r.describe();
      EXPECT_TRUE(fs::exists(original + "/file-2")) << r.describe();
    } else {
      ++refused;
      EXPECT_TRUE(Ended(r, "setup_error", 125));
      EXPECT_FALSE(r.err.empty()) << "a refusal must say why";
    }
    EXPECT_TRUE(fs::is_empty(elsewhere)) << "trial " << trial << " wrote through the symlink\n" << r.describe();
  }
  RecordProperty("bound", bound);
  RecordProperty("refused", refused);
}

// --- Too few descriptors -----------------------------------------------------------------------

// confine under a low RLIMIT_NOFILE (soft; the hard limit stays, so the sandbox may still set its
// own): every open, pipe, pidfd and socket of the launch may fail with EMFILE. Each run either
// works or ends with exit 125 and a message, and leaves nothing.
TEST_F(FaultTest, TooFewDescriptorsEndCleanly) {
  int failed = 0;
  int worked = 0;
  bool said_emfile = false;
  // Under the sanitizers the lowest limits starve their runtime, not confine: UBSan's vptr
  // check cannot read the process's memory map without a descriptor and reports every object
  // as having an invalid vptr. There the sweep starts where the runtime has room.
#if defined(__SANITIZE_ADDRESS__)
  constexpr rlim_t kLowest = 12;
#else
  constexpr rlim_t kLowest = 5;
#endif
  // A launch holds about 26 descriptors at once: the relay's pipes and nonblocking sinks, the
  // setup pipes, the seccomp socket pair, the cgroup leaf, the namespace-owner lock. The sweep
  // goes past that, in steps of 2 above 16 to keep it short.
  for (rlim_t soft = kLowest; soft <= 36; soft += soft < 16 ? 1 : 2) {
    const std::string report = base_ + "/report-nofile-" + std::to_string(soft) + ".json";
    Spawn spawn{run_argv(report, {}, {"exit", "0"})};
    spawn.nofile_soft = soft;
    const RunResult r = run_spawn(spawn, report);
    SCOPED_TRACE("RLIMIT_NOFILE soft " + std::to_string(soft) + "\n" + r.describe());
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.term_signal, 0);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 125);
    if (r.exit_code == 0) {
      ++worked;
      EXPECT_TRUE(ProbeOk(r));
    } else {
      ++failed;
      EXPECT_FALSE(r.err.empty());
      said_emfile = said_emfile || r.err.find("Too many open files") != std::string::npos;
      // A report, when confine could open one, says what failed.
      if (!r.report_text.empty()) {
        EXPECT_EQ(r.outcome(), "setup_error");
      }
    }
    EXPECT_TRUE(NothingLeft());
  }
  EXPECT_GT(failed, 0) << "even 5 descriptors were enough: the test no longer tests EMFILE";
  EXPECT_GT(worked, 0) << "even 36 descriptors were not enough";
  EXPECT_TRUE(said_emfile) << "no failure named EMFILE (Too many open files)";
}

// --- A policy file that changes while confine reads it -----------------------------------------

std::string policy_version(const std::string& marker) {
  const std::string base = fs::canonical(policy_dir() + "/../../policies/default.toml").string();
  return "version = 1\nextends = [\"" + base + "\"]\n[env]\nset = { PATH = \"/usr/bin:/bin\", FOO = \"" + marker +
         "\", BAR = \"" + marker + "\" }\n";
}

enum class Rewrite { kInPlace, kRename };

// Rewrites `path` with versions A and B in turn until stopped: in place (truncate, then write,
// so a reader may see nothing or a part) or by rename (a reader sees one whole version).
class PolicyRewriter {
 public:
  PolicyRewriter(std::string path, Rewrite how) : path_(std::move(path)), how_(how) {
    write_text(path_, policy_version("A"));
    thread_ = std::thread([this] { loop(); });
  }
  ~PolicyRewriter() {
    stop_ = true;
    thread_.join();
  }
  PolicyRewriter(const PolicyRewriter&) = delete;
  PolicyRewriter& operator=(const PolicyRewriter&) = delete;

 private:
  void loop() {
    const std::string versions[2] = {policy_version("A"), policy_version("B")};
    for (unsigned i = 0; !stop_; ++i) {
      const std::string& text = versions[i % 2];
      if (how_ == Rewrite::kInPlace) {
        const int fd = ::open(path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd >= 0) {
          (void)!::write(fd, text.data(), text.size());
          ::close(fd);
        }
      } else {
        const std::string tmp = path_ + ".tmp";
        write_text(tmp, text);
        ::rename(tmp.c_str(), path_.c_str());
      }
      // A whole version stands for 2 ms between rewrites: on a loaded machine a shorter one
      // left no run a chance to read one whole, and the test needs at least one that did.
      std::this_thread::sleep_for(std::chrono::microseconds(2000));
    }
  }
  std::string path_;
  Rewrite how_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// FOO and BAR as the target saw them ("" when absent).
std::pair<std::string, std::string> foo_bar(const std::string& env) {
  std::string foo;
  std::string bar;
  for (const auto& line : lines(env)) {
    if (line.rfind("FOO=", 0) == 0) foo = line.substr(4);
    if (line.rfind("BAR=", 0) == 0) bar = line.substr(4);
  }
  return {foo, bar};
}

// 12 runs of the target printing its environment and 12 `confine check`s while the policy
// changes: each either used one whole version or was refused with an error naming the file.
void check_policy_race(const std::string& path, Rewrite how, int& consistent, int& refused,
                       const std::function<RunResult()>& run_env, const std::function<RunResult()>& check) {
  for (int i = 0; i < 12; ++i) {
    const RunResult r = run_env();
    if (r.exit_code == 0) {
      ++consistent;
      EXPECT_TRUE(ProbeOk(r));
      const auto [foo, bar] = foo_bar(r.out);
      EXPECT_TRUE((foo == "A" || foo == "B") && foo == bar)
          << "the run used a mixture of two policy versions: FOO=" << foo << " BAR=" << bar << "\n" << r.describe();
    } else {
      ++refused;
      EXPECT_EQ(how, Rewrite::kInPlace) << "a policy replaced by rename is always whole\n" << r.describe();
      EXPECT_TRUE(Ended(r, "setup_error", 125));
      EXPECT_NE(r.err.find(path), std::string::npos) << "the error must name the policy file\n" << r.describe();
    }
    const RunResult c = check();
    EXPECT_FALSE(c.timed_out);
    EXPECT_EQ(c.term_signal, 0) << c.describe();
    if (c.exit_code != 0) {
      EXPECT_EQ(how, Rewrite::kInPlace) << c.describe();
      EXPECT_NE(c.err.find(path), std::string::npos) << c.describe();
    }
  }
}

TEST_F(FaultTest, PolicyRewrittenWhileReadIsUsedWholeOrRefused) {
  for (Rewrite how : {Rewrite::kInPlace, Rewrite::kRename}) {
    SCOPED_TRACE(how == Rewrite::kInPlace ? "rewritten in place" : "replaced by rename");
    const std::string path = base_ + (how == Rewrite::kInPlace ? "/in-place.toml" : "/renamed.toml");
    int consistent = 0;
    int refused = 0;
    {
      PolicyRewriter rewriter(path, how);
      check_policy_race(
          path, how, consistent, refused,
          [&] { return run_probe({"env"}, with_args({"-p", path})); },
          [&] {
            Invocation inv;
            inv.argv = {confine_binary(), "check", path};
            inv.deadline = milliseconds(20000);
            return integ::start(inv, "").wait();
          });
    }
    EXPECT_GT(consistent, 0) << "no run got a whole policy";
    RecordProperty(how == Rewrite::kInPlace ? "in_place_refused" : "renamed_refused", refused);
  }
}

}  // namespace
}  // namespace integ
