// The process boundary: environment, inherited descriptors, privileges, identity, signals
// across the pid namespace, and processes that try to outlive the job or confine itself.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "fixture.h"

namespace integ {
namespace {

using namespace std::chrono_literals;

// A field of /proc/PID/status ("Uid:" gives "1000\t1000\t1000\t1000").
std::string status_field(pid_t pid, const std::string& key) {
  const auto text = read_text("/proc/" + std::to_string(pid) + "/status");
  if (!text) return {};
  for (const auto& line : lines(*text)) {
    if (line.rfind(key, 0) == 0) {
      std::string value = line.substr(key.size());
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return {};
}

// Polls until PATH exists and is non-empty.
bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (auto text = read_text(path); text && !text->empty()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// The sandboxed probe carrying `tag`, seen from the host (its argv starts with the probe's
// path; confine's own argv carries the tag too), or 0 when it does not appear within 2 s.
pid_t sandboxed_probe(const std::string& tag) {
  for (int i = 0; i < 200; ++i) {
    for (pid_t pid : processes_with_marker(tag)) {
      const auto cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline").value_or("");
      if (cmdline.rfind(probe_binary() + std::string(1, '\0'), 0) == 0) return pid;
    }
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

using ProcessTest = SandboxTest;

TEST_F(ProcessTest, CallerSecretsDoNotReachTheTarget) {
  const RunOptions options = with_env({"AWS_SECRET_ACCESS_KEY=integ-aws-secret", "GITHUB_TOKEN=integ-gh-token",
                                   "LD_PRELOAD=/nonexistent/integ-preload.so", "LANG=C.UTF-8"});
  for (const bool proc : {false, true}) {
    SCOPED_TRACE(proc ? "/proc/self/environ" : "environ");
    const RunResult r = run_probe(proc ? std::vector<std::string>{"env", "--proc"} : std::vector<std::string>{"env"},
                                  options);
    ASSERT_TRUE(ProbeOk(r));
    for (const std::string& secret : std::vector<std::string>{"AWS_SECRET_ACCESS_KEY", "integ-aws-secret", "GITHUB_TOKEN", "integ-gh-token",
                                     "LD_PRELOAD", "integ-preload"}) {
      EXPECT_EQ(r.out.find(secret), std::string::npos) << secret << " reached the target\n" << r.describe();
    }
    const auto env = lines(r.out);
    EXPECT_NE(std::find(env.begin(), env.end(), "LANG=C.UTF-8"), env.end()) << "LANG was not kept\n" << r.describe();
  }
}

TEST_F(ProcessTest, LeakedCallerDescriptorIsInvisible) {
  // Opened without O_CLOEXEC, so confine inherits it as a careless caller would pass it.
  const int leaked = ::open(canary_.c_str(), O_RDONLY);
  ASSERT_GE(leaked, 3);
  const RunResult r = run_probe({"fds"});
  ::close(leaked);
  ASSERT_TRUE(ProbeOk(r));
  std::set<std::string> numbers;
  for (const auto& line : lines(r.out)) numbers.insert(line.substr(0, line.find(' ')));
  EXPECT_EQ(numbers, (std::set<std::string>{"0", "1", "2"})) << r.describe();
  EXPECT_EQ(r.out.find("canary"), std::string::npos) << r.describe();
}

TEST_F(ProcessTest, NoCapabilitiesNoNewPrivsAndSeccompFilter) {
  const RunResult r = run_probe({"caps"});
  ASSERT_TRUE(ProbeOk(r));
  std::map<std::string, std::string> fields;
  for (const auto& line : lines(r.out)) {
    const auto colon = line.find(':');
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    fields[line.substr(0, colon)] = value;
  }
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(fields[set], "0000000000000000") << set << "\n" << r.describe();
  }
  EXPECT_EQ(fields["NoNewPrivs"], "1");
  EXPECT_EQ(fields["Seccomp"], "2");  // SECCOMP_MODE_FILTER
}

// The sandbox's init (pid 1 inside) shares the target's uid. It is not dumpable from before
// the target exists and holds no capabilities, so the target can neither read its memory nor
// open its descriptors (the status pipe the report is built from).
TEST_F(ProcessTest, InitCannotBeInspectedByTheTarget) {
  for (const char* path : {"/proc/1/mem", "/proc/1/environ", "/proc/1/fd/0"}) {
    SCOPED_TRACE(path);
    const RunResult r = run_probe({"read", path});
    ASSERT_TRUE(ProbeDenied(r));
    EXPECT_EQ(first_line(r.out), "EACCES") << r.describe();
  }
  const RunResult r = run_probe({"read", "/proc/1/status"});
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("CapPrm:\t0000000000000000"), std::string::npos) << r.describe();
}

// From the target's first instruction, the init holds no capability: it drops to the target's
// own privileges before forking it, not after the target's execve. Dropped afterwards, the
// init kept every capability of the namespace until the scheduler ran it again; on one CPU the
// target usually ran first (22 of 30 runs read a full CapEff here, 6 of 30 on two CPUs).
// confine runs confined to one CPU to make that order the likely one, and the probe reads
// /proc/1/status as the first thing it does.
TEST_F(ProcessTest, InitHoldsNoCapabilityOnceTheTargetRuns) {
  cpu_set_t caller;
  ASSERT_EQ(::sched_getaffinity(0, sizeof caller, &caller), 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(::sched_getcpu(), &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);  // confine inherits it
  std::vector<RunResult> runs;
  for (int i = 0; i < 10; ++i) runs.push_back(run_probe({"read", "/proc/1/status"}));
  ASSERT_EQ(::sched_setaffinity(0, sizeof caller, &caller), 0);
  for (const RunResult& r : runs) {
    ASSERT_TRUE(ProbeOk(r));
    EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("CapPrm:\t0000000000000000"), std::string::npos) << r.describe();
  }
}

TEST_F(ProcessTest, TargetRunsAsUid1000Inside) {
  const RunResult r = run_probe({"id"});
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_EQ(first_line(r.out).substr(0, r.out.find(" groups=")), "uid=1000 euid=1000 gid=1000 egid=1000")
      << r.describe();
}

TEST_F(ProcessTest, FilesTheTargetWritesBelongToAnUnprivilegedHostUser) {
  ASSERT_TRUE(ProbeOk(run_probe({"write", job_path("owned")})));
  struct stat st {};
  ASSERT_EQ(::stat(job_path("owned").c_str(), &st), 0);
  // Run as root: the policy's host_uid (65534). Rootless: the caller, the only id it may map.
  const uid_t expected = is_root() ? 65534 : ::getuid();
  EXPECT_EQ(st.st_uid, expected);
  EXPECT_NE(st.st_uid, 0U);
}

TEST_F(ProcessTest, RootOnlyHostSideUidIsNobody) {
  CONFINE_REQUIRE_ROOT();
  Running running = start_probe({"sleep", "30"});
  // The target seen from the host: find it by its tag, read its credentials.
  const pid_t target = sandboxed_probe(tag_);
  ASSERT_NE(target, 0) << "the sandboxed probe never appeared";
  const std::string uid = status_field(target, "Uid:");
  running.signal(SIGTERM);
  const RunResult r = running.wait();
  EXPECT_EQ(uid, "65534\t65534\t65534\t65534");
  EXPECT_NE(r.exit_code, 0) << r.describe();  // stopped early by our SIGTERM
}

// confine keeps itself, the init and the target on one CPU while they set up (fewer
// cross-CPU wake-ups); the job must still get every CPU its caller allowed.
TEST_F(ProcessTest, TargetRunsOnEveryCpuTheCallerAllowed) {
  const std::string mine = status_field(::getpid(), "Cpus_allowed_list:");
  ASSERT_FALSE(mine.empty());
  const RunResult r = run_probe({"read", "/proc/self/status"});
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_NE(r.out.find("Cpus_allowed_list:\t" + mine + "\n"), std::string::npos) << "caller: " << mine << "\n"
                                                                                 << r.describe();
}

// Signals the caller ignored (a service often ignores SIGHUP or SIGPIPE; confine itself ignores
// SIGPIPE) are back at their default in the target, and none is blocked or caught. The target
// resets only the signals confine found ignored or caught, so this checks that finding too.
TEST_F(ProcessTest, SignalsTheCallerIgnoredAreDefaultInTheTarget) {
  struct sigaction ignore{}, old_hup{}, old_usr1{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGHUP, &ignore, &old_hup), 0);
  ASSERT_EQ(::sigaction(SIGUSR1, &ignore, &old_usr1), 0);
  const RunResult r = run_probe({"read", "/proc/self/status"});
  (void)::sigaction(SIGHUP, &old_hup, nullptr);
  (void)::sigaction(SIGUSR1, &old_usr1, nullptr);
  ASSERT_TRUE(ProbeOk(r));
  for (const char* line : {"SigIgn:\t0000000000000000\n", "SigCgt:\t0000000000000000\n", "SigBlk:\t0000000000000000\n"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << r.describe();
  }
}

// The init never holds confine's heap (the plan, the policy, the caller's environment as
// confine parsed it): the clone leaves it out (MADV_DONTFORK), so the init maps at most the
// page holding its own thread block, while confine's heap is hundreds of KiB. (It also unmaps
// its copy of the child image once the target runs.)
TEST_F(ProcessTest, RootOnlyInitGivesBackConfinesHeap) {
  CONFINE_REQUIRE_ROOT();
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator does not use the brk heap this test measures "
                  "(confine then leaves nothing out of the clone)";
#endif
  Running running = start_probe({"sleep", "30"});
  const pid_t target = sandboxed_probe(tag_);
  ASSERT_NE(target, 0) << "the sandboxed probe never appeared";
  const pid_t init = static_cast<pid_t>(std::stol(status_field(target, "PPid:")));
  const pid_t confine = static_cast<pid_t>(std::stol(status_field(init, "PPid:")));
  auto heap_bytes = [](pid_t pid) -> uint64_t {
    const auto maps = read_text("/proc/" + std::to_string(pid) + "/maps").value_or("");
    for (const auto& line : lines(maps)) {
      if (line.find("[heap]") == std::string::npos) continue;
      const auto dash = line.find('-');
      return std::stoull(line.substr(dash + 1, line.find(' ') - dash - 1), nullptr, 16) -
             std::stoull(line.substr(0, dash), nullptr, 16);
    }
    return 0;
  };
  const uint64_t init_heap = heap_bytes(init);
  const uint64_t confine_heap = heap_bytes(confine);
  running.signal(SIGTERM);
  (void)running.wait();
  EXPECT_GE(confine_heap, 64U * 1024) << "confine's own heap (pid " << confine << ")";
  EXPECT_LE(init_heap, 2U * 4096) << "the init (pid " << init << ") still maps confine's heap";
}

TEST_F(ProcessTest, KillAllCannotReachOutside) {
  // A host process the target would be allowed to signal by uid alone: run as root, it runs
  // as the target's host uid (65534); rootless, it is the caller's like the target. Only the
  // pid namespace protects it.
  const pid_t sleeper = ::fork();
  ASSERT_GE(sleeper, 0);
  if (sleeper == 0) {
    if (is_root() && ::setuid(65534) != 0) ::_exit(1);
    while (true) ::pause();
  }
  const RunResult r = run_probe({"kill-all", std::to_string(sleeper)});
  std::this_thread::sleep_for(100ms);
  int status = 0;
  const pid_t reaped = ::waitpid(sleeper, &status, WNOHANG);
  EXPECT_EQ(reaped, 0) << "the host sleeper died (status " << status << ")\n" << r.describe();
  ::kill(sleeper, SIGKILL);
  ::waitpid(sleeper, nullptr, 0);
  EXPECT_TRUE(ProbeOk(r));
  // kill(-1) found nothing to kill inside but the target itself (which it skips): ESRCH.
  EXPECT_NE(r.out.find("kill(-1, SIGKILL): ESRCH"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("kill(" + std::to_string(sleeper) + ", SIGKILL): ESRCH"), std::string::npos) << r.describe();
}

TEST_F(ProcessTest, SigtermIgnoringDaemonIsKilledAtTheWallTimeout) {
  const std::string pidfile = job_path("daemon.pid");
  Running running = start_probe({"daemonize", pidfile}, with_args({"--timeout", "1s"}));
  ASSERT_TRUE(wait_for_file(pidfile, 5s)) << "the daemon never wrote its pid";
  // Both the target and its daemon are alive and tagged (the daemon keeps the probe's argv).
  const auto before = processes_with_marker(tag_);
  const RunResult r = running.wait();
  EXPECT_TRUE(EndedByLimit(r, "wall_timeout", 124, "wall_time"));
  EXPECT_GE(before.size(), 3U) << "expected confine, the target and the daemon";
  for (pid_t pid : before) EXPECT_FALSE(alive_with_marker(pid, tag_)) << "pid " << pid << " outlived the job";
}

// The caller's SIGINT, SIGTERM, SIGHUP and SIGQUIT reach the target through confine and the
// sandbox's init, as they would reach an unsandboxed command: it dies of the same signal.
class ForwardedSignalTest : public SandboxTest, public ::testing::WithParamInterface<int> {};

TEST_P(ForwardedSignalTest, ReachesTheTarget) {
  const int sig = GetParam();
  Running running = start_probe({"sleep", "30"});
  // Once the target runs, its tag shows up in a second process besides confine.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (processes_with_marker(tag_).size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(processes_with_marker(tag_).size(), 2U) << "the target never started";
  running.signal(sig);
  const RunResult r = running.wait();
  EXPECT_TRUE(Ended(r, "signaled", 128 + sig));
  if (r.report) {
    EXPECT_EQ((*r.report)["target"]["signal"], sig) << r.describe();
  }
}

INSTANTIATE_TEST_SUITE_P(Caller, ForwardedSignalTest, ::testing::Values(SIGINT, SIGTERM, SIGHUP, SIGQUIT),
                         [](const ::testing::TestParamInfo<int>& p) { return std::string(sigabbrev_np(p.param)); });

// --cpu-time sets limits.cpu_time from the command line, as --timeout sets the wall time.
TEST_F(ProcessTest, RootOnlyCpuTimeFlagEndsTheJob) {
  CONFINE_REQUIRE_ROOT();
  CONFINE_REQUIRE(!confine_cgroup_parent().empty(), "no cgroup v2 hierarchy to measure CPU time in");
  const RunResult r = run_probe({"spin", "30"}, with_args({"--cpu-time", "500ms"}));
  EXPECT_TRUE(EndedByLimit(r, "cpu_timeout", 124, "cpu_time"));
}

TEST_F(ProcessTest, DaemonLeftBehindByTheTargetIsKilled) {
  // The target exits 0 at once and leaves a daemon: the job is over, so is the daemon.
  const std::string pidfile = job_path("daemon.pid");
  const RunResult r = run_probe({"daemonize", pidfile, "--exit"}, with_args({"--timeout", "20s"}));
  EXPECT_TRUE(ProbeOk(r));
  EXPECT_TRUE(read_text(pidfile).has_value()) << "the daemon never started";
  EXPECT_LT((*r.report)["times"]["wall_us"].get<uint64_t>(), 10'000'000U) << "confine waited for the daemon";
  EXPECT_TRUE(wait_until_gone(tag_, 500ms).empty());
}

TEST_F(ProcessTest, RootOnlyCpuTimeLimitEndsTheJob) {
  CONFINE_REQUIRE_ROOT();
  CONFINE_REQUIRE(!confine_cgroup_parent().empty(), "no cgroup v2 hierarchy to measure CPU time in");
  const auto start = std::chrono::steady_clock::now();
  const RunResult r = run_probe({"spin", "30"}, with_args({"-p", policy("cpu-time-1s.toml")}));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(EndedByLimit(r, "cpu_timeout", 124, "cpu_time"));
  if (r.report) {
    const auto cpu_us = (*r.report)["times"]["cpu_user_us"].get<uint64_t>() +
                        (*r.report)["times"]["cpu_system_us"].get<uint64_t>();
    EXPECT_GE(cpu_us, 900'000U) << r.describe();
  }
  EXPECT_LT(took, 15s);
}

TEST_F(ProcessTest, RootOnlyCgroupV2MemoryLimitEndsInOom) {
  CONFINE_REQUIRE_ROOT();
  CONFINE_REQUIRE(cgroup_controller_available("memory"), "the cgroup v2 memory controller is not available");
  const RunResult r = run_probe({"memhog", "256"}, with_args({"--memory", "32M"}));
  EXPECT_TRUE(Ended(r, "oom", 137));
}

TEST_F(ProcessTest, RootOnlyCgroupV2PidsLimitStopsAForkBomb) {
  CONFINE_REQUIRE_ROOT();
  CONFINE_REQUIRE(cgroup_controller_available("pids"), "the cgroup v2 pids controller is not available");
  const RunResult r = run_probe({"forkbomb", "512"}, with_args({"--pids", "16"}));
  EXPECT_TRUE(ProbeDenied(r));
  EXPECT_EQ(first_line(r.out), "EAGAIN");
  if (r.report) {
    EXPECT_GT((*r.report)["resources"]["counters"]["pids_max_hits"].get<uint64_t>(), 0U);
  }
}

TEST_F(ProcessTest, KillingConfineTakesTheSandboxDown) {
  Running running = start_probe({"sleep", "30"});
  // The init and the target, once both are up: polled, since a sanitizer build on a loaded
  // machine took longer than the half second this once waited.
  for (int i = 0; i < 500 && processes_with_marker(tag_).size() < 2; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_GE(processes_with_marker(tag_).size(), 2U) << "the sandbox was not running after 10 s";
  running.signal(SIGKILL);
  const RunResult r = running.wait();
  EXPECT_EQ(r.term_signal, SIGKILL);
  const auto left = wait_until_gone(tag_, 1000ms);
  EXPECT_TRUE(left.empty()) << left.size() << " sandbox processes outlived confine by a second";

  // A SIGKILLed confine cannot remove its own cgroup leaf. It must at least be empty; remove
  // it here so the fixture's check does not count it.
  if (const std::string parent = confine_cgroup_parent(); !parent.empty()) {
    const std::string prefix = "job-" + std::to_string(running.pid()) + "-";
    for (const auto& entry : std::filesystem::directory_iterator(parent)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) != 0) continue;
      // A process killed an instant ago can still be listed while the kernel releases it (its
      // parent, confine, is gone, so the host's init reaps it): allow it a moment to go.
      std::optional<std::string> procs;
      for (int i = 0; i < 100; ++i) {
        procs = read_text(entry.path().string() + "/cgroup.procs");
        if (procs.value_or("").empty()) break;
        std::this_thread::sleep_for(20ms);
      }
      EXPECT_EQ(procs.value_or(""), "") << "processes left in " << entry.path() << " two seconds after";
      remove_cgroup(entry.path().string());
    }
  }
}

}  // namespace
}  // namespace integ
