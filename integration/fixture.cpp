#include "fixture.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

namespace integ {
std::string cgroup2_mount() {
  const auto mountinfo = read_text("/proc/self/mountinfo");
  if (!mountinfo) return {};
  std::istringstream in(*mountinfo);
  std::string line;
  std::string first;
  while (std::getline(in, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string field;
    for (int i = 0; i < 5 && fields >> field; ++i) {
    }
    if (field == "/sys/fs/cgroup") return field;
    if (first.empty()) first = field;
  }
  return first;
}

namespace {

std::string random_hex() {
  std::random_device rd;
  std::ostringstream s;
  s << std::hex << rd() << rd();
  return s.str();
}

std::string temp_prefix() { return "confine-integ-" + std::to_string(::getpid()) + "-"; }

}  // namespace

bool is_root() { return ::geteuid() == 0; }

void remove_cgroup(const std::string& path) {
  for (int i = 0; i < 100 && ::rmdir(path.c_str()) < 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool require_all() {
  const char* value = std::getenv("CONFINE_REQUIRE_ALL");
  return value != nullptr && std::string(value) == "1";
}

std::string confine_cgroup_parent() {
  if (!is_root()) return {};
  if (const char* value = std::getenv("CONFINE_CGROUP_PARENT"); value != nullptr && *value != '\0') return value;
  const std::string mount = cgroup2_mount();
  return mount.empty() ? std::string() : mount + "/confine";
}

bool cgroup_controller_available(const std::string& controller) {
  std::string dir = confine_cgroup_parent();
  if (dir.empty()) return false;
  auto text = read_text(dir + "/cgroup.controllers");
  if (!text) text = read_text(std::filesystem::path(dir).parent_path().string() + "/cgroup.controllers");
  if (!text) return false;
  std::istringstream in(*text);
  std::string word;
  while (in >> word) {
    if (word == controller) return true;
  }
  return false;
}

void SandboxTest::SetUp() {
  // confine refuses binds through symlinks; say so here rather than in every test's report.
  std::error_code ec;
  ASSERT_EQ(std::filesystem::canonical(probe_dir(), ec).string(), probe_dir())
      << "the probe's directory " << probe_dir() << " goes through a symlink (or is missing); "
      << "build in a directory without symlinks or set CONFINE_INTEG_PROBE_DIR";
  std::string pattern = "/tmp/" + temp_prefix() + "XXXXXX";
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << "mkdtemp: " << std::strerror(errno);
  base_ = pattern;
  // Readable by anyone on the host: the canary is protected by the sandbox alone, not by
  // host permissions (run as root, the target's host uid is 65534, which these would stop).
  ASSERT_EQ(::chmod(base_.c_str(), 0755), 0);
  job_ = base_ + "/job";
  ASSERT_EQ(::mkdir(job_.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(job_.c_str(), 0777), 0);  // the sandbox's host uid must be able to write
  ASSERT_EQ(::mkdir((base_ + "/secret").c_str(), 0755), 0);
  canary_ = base_ + "/secret/canary.txt";
  canary_text_ = "confine-canary-" + random_hex();
  write_text(canary_, canary_text_ + "\n", 0644);

  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  tag_ = "confine-integ-tag-" + std::to_string(::getpid()) + "-" + info->name() + "-" + random_hex();
  for (char& c : tag_) {
    if (c == '/') c = '_';
  }
}

void SandboxTest::TearDown() {
  // Nothing the test started may still run: confine, the sandbox's init, the target, its
  // daemons. A short grace covers a sandbox that is being torn down as confine exits.
  const auto strays = wait_until_gone(tag_, std::chrono::milliseconds(1000));
  for (pid_t pid : strays) {
    ADD_FAILURE() << "stray process " << pid << " still running after the test: "
                  << read_text("/proc/" + std::to_string(pid) + "/cmdline").value_or("?");
    ::kill(pid, SIGKILL);
  }
  // SIGKILL is asynchronous: let them go before looking at their cgroups.
  if (!strays.empty()) (void)wait_until_gone(tag_, std::chrono::milliseconds(2000));

  // Every confine this test started removed its cgroup leaf (named job-<confine pid>-<random>).
  if (const std::string parent = confine_cgroup_parent(); !parent.empty()) {
    if (DIR* dir = ::opendir(parent.c_str())) {
      while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        for (pid_t pid : confine_pids_) {
          if (name.rfind("job-" + std::to_string(pid) + "-", 0) == 0) {
            ADD_FAILURE() << "leftover cgroup " << parent << "/" << name;
            remove_cgroup(parent + "/" + name);
          }
        }
      }
      ::closedir(dir);
    }
  }

  if (!base_.empty()) {
    remove_tree(base_);
    EXPECT_FALSE(std::filesystem::exists(base_)) << "could not remove the test's temp dir " << base_;
  }
  // No temp dir of this test process is left, this test's or an earlier one's.
  for (const auto& entry : std::filesystem::directory_iterator("/tmp")) {
    EXPECT_NE(entry.path().filename().string().rfind(temp_prefix(), 0), 0U)
        << "leftover temp dir " << entry.path();
  }
}

std::string SandboxTest::policy(const std::string& name) const { return policy_dir() + "/" + name; }

Running SandboxTest::start(const std::vector<std::string>& command, const RunOptions& options) {
  const std::string report = base_ + "/report-" + std::to_string(++runs_) + ".json";
  Invocation inv;
  inv.argv = options.wrapper;
  inv.argv.insert(inv.argv.end(), {confine_binary(), "run", "--ro", probe_dir()});
  if (options.bind_job) inv.argv.insert(inv.argv.end(), {"--rw", job_});
  inv.argv.insert(inv.argv.end(), {"--report", report});
  inv.argv.insert(inv.argv.end(), options.args.begin(), options.args.end());
  inv.argv.push_back("--");
  inv.argv.insert(inv.argv.end(), command.begin(), command.end());
  inv.extra_env = options.env;
  inv.stdin_fd = options.stdin_fd;
  inv.stdout_fd = options.stdout_fd;
  inv.stderr_fd = options.stderr_fd;
  inv.deadline = options.deadline;
  Running running = integ::start(inv, report);
  confine_pids_.push_back(running.pid());
  return running;
}

Running SandboxTest::start_probe(const std::vector<std::string>& probe_args, const RunOptions& options) {
  std::vector<std::string> command{probe_binary(), "--tag", tag_};
  command.insert(command.end(), probe_args.begin(), probe_args.end());
  return start(command, options);
}

RunResult SandboxTest::run_probe(const std::vector<std::string>& probe_args, const RunOptions& options) {
  return start_probe(probe_args, options).wait();
}

RunResult SandboxTest::run_command(const std::vector<std::string>& command, const RunOptions& options) {
  // The tag goes into confine's argv through a harmless --env, so stray checks still see it.
  RunOptions tagged = options;
  tagged.args.insert(tagged.args.end(), {"--env", "CONFINE_INTEG_TAG=" + tag_});
  return start(command, tagged).wait();
}

RunOptions without_landlock(RunOptions options) {
  options.wrapper = {probe_binary(), "without-landlock"};
  return options;
}

::testing::AssertionResult Ended(const RunResult& r, const std::string& outcome, int exit_code) {
  auto failure = [&](const std::string& why) {
    return ::testing::AssertionFailure() << why << " (expected outcome " << outcome << ", exit " << exit_code
                                         << ")\n" << r.describe();
  };
  if (r.timed_out) return failure("confine did not finish before the harness deadline");
  if (r.term_signal != 0) return failure("confine itself died of signal " + std::to_string(r.term_signal));
  if (r.exit_code != exit_code) return failure("confine exited " + std::to_string(r.exit_code));
  if (!r.report) return failure("no parseable report was written");
  if (r.outcome() != outcome) return failure("report outcome is " + r.outcome());
  const auto& code = (*r.report)["exit_code"];
  if (!code.is_number_integer() || code.get<int>() != exit_code) return failure("report exit_code is " + code.dump());
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult EndedByLimit(const RunResult& r, const std::string& outcome, int exit_code,
                                        const std::string& limit) {
  if (auto ended = Ended(r, outcome, exit_code); !ended) return ended;
  const auto& hit = (*r.report)["limits_hit"];
  if (hit != nlohmann::json::array({limit})) {
    return ::testing::AssertionFailure() << "limits_hit is " << hit.dump() << " (expected [\"" << limit << "\"])\n"
                                         << r.describe();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ProbeDenied(const RunResult& r) {
  if (auto ended = Ended(r, "exit_nonzero", 1); !ended) return ended;
  const auto& target = (*r.report)["target"];
  if (target["exit_code"] != 1) return ::testing::AssertionFailure() << "target.exit_code is not 1\n" << r.describe();
  const std::string err = first_line(r.out);
  if (err.size() < 2 || err[0] != 'E') {
    return ::testing::AssertionFailure() << "the probe printed no errno name\n" << r.describe();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ProbeOk(const RunResult& r) {
  if (auto ended = Ended(r, "ok", 0); !ended) return ended;
  if ((*r.report)["target"]["exit_code"] != 0) {
    return ::testing::AssertionFailure() << "target.exit_code is not 0\n" << r.describe();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult KilledBySeccomp(const RunResult& r, const std::string& syscall) {
  if (auto ended = Ended(r, "seccomp_violation", 128 + SIGSYS); !ended) return ended;
  const auto& violation = (*r.report)["seccomp_violation"];
  if (syscall.empty()) {
    // Kill rules that kill directly (no listener): the kernel's SIGSYS, and no name.
    if ((*r.report)["target"]["signal"] != SIGSYS || !violation.is_null()) {
      return ::testing::AssertionFailure() << "expected a direct SIGSYS kill with no named syscall\n" << r.describe();
    }
    return ::testing::AssertionSuccess();
  }
  // Kill rules that notify confine: the report names the syscall, and the job was killed.
  if (!violation.is_object() || violation["syscall"] != syscall) {
    return ::testing::AssertionFailure() << "seccomp_violation.syscall is not " << syscall << "\n" << r.describe();
  }
  return ::testing::AssertionSuccess();
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

}  // namespace integ
