#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace integ {
namespace {

using Clock = std::chrono::steady_clock;

std::string from_env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::string(fallback);
}

[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  for (const auto& assignment : extra) {
    const std::string name = assignment.substr(0, assignment.find('=') + 1);
    std::erase_if(env, [&](const std::string& existing) { return existing.rfind(name, 0) == 0; });
    env.push_back(assignment);
  }
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Appends what is available on fd; returns false at end of file.
bool drain(int fd, std::string& into) {
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN;  // anything else: treat as closed
  }
}

}  // namespace

std::string confine_binary() { return from_env("CONFINE_INTEG_CONFINE", CONFINE_INTEG_CONFINE); }
std::string probe_binary() { return from_env("CONFINE_INTEG_PROBE", CONFINE_INTEG_PROBE); }
std::string learn_probe_binary() { return from_env("CONFINE_INTEG_LEARN_PROBE", CONFINE_INTEG_LEARN_PROBE); }
std::string probe_dir() { return from_env("CONFINE_INTEG_PROBE_DIR", CONFINE_INTEG_PROBE_DIR); }
std::string policy_dir() { return from_env("CONFINE_INTEG_POLICY_DIR", CONFINE_INTEG_POLICY_DIR); }
std::string shipped_policy_dir() { return from_env("CONFINE_INTEG_SHIPPED_POLICY_DIR", CONFINE_INTEG_SHIPPED_POLICY_DIR); }

namespace {
// Every confine a test starts finds the shipped policies by name (the default one included) in
// this checkout, unless the caller already says where (the rootless pass runs a staged copy).
// Set once in the test process's own environment, so every way of starting confine inherits it.
// Against an installed confine (CONFINE_INTEG_INSTALLED=1, scripts/package-test.sh) there is no
// CONFINE_POLICY_PATH at all: the installed binary must find its installed policies itself.
[[maybe_unused]] const bool kPolicyPathSet = [] {
  const char* installed = std::getenv("CONFINE_INTEG_INSTALLED");
  if (installed != nullptr && std::string(installed) == "1") {
    ::unsetenv("CONFINE_POLICY_PATH");
  } else {
    ::setenv("CONFINE_POLICY_PATH", shipped_policy_dir().c_str(), /*overwrite=*/0);
  }
  return true;
}();
}  // namespace

std::string RunResult::describe() const {
  std::ostringstream s;
  s << "confine exit=" << exit_code << " signal=" << term_signal << (timed_out ? " (harness deadline hit)" : "")
    << "\n--- stdout ---\n" << out << "\n--- stderr ---\n" << err << "\n--- report ---\n"
    << (report ? report->dump(2) : "<none>") << "\n";
  return s.str();
}

std::string RunResult::outcome() const {
  if (!report || !report->contains("outcome") || !(*report)["outcome"].is_string()) return "<no report>";
  return (*report)["outcome"].get<std::string>();
}

Running::Running(pid_t pid, int out_fd, int err_fd, std::string report_path, std::chrono::milliseconds deadline)
    : pid_(pid), out_fd_(out_fd), err_fd_(err_fd), report_path_(std::move(report_path)), deadline_(deadline) {}

Running::Running(Running&& other) noexcept
    : pid_(other.pid_),
      out_fd_(other.out_fd_),
      err_fd_(other.err_fd_),
      report_path_(std::move(other.report_path_)),
      deadline_(other.deadline_),
      waited_(other.waited_) {
  other.waited_ = true;
  other.out_fd_ = other.err_fd_ = -1;
}

Running::~Running() {
  if (!waited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void Running::signal(int sig) const {
  if (!waited_) ::kill(pid_, sig);
}

RunResult Running::wait() {
  RunResult result;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) die("pidfd_open");
  const auto deadline = Clock::now() + deadline_;
  std::optional<Clock::time_point> exited_at;
  bool out_open = true;
  bool err_open = true;
  // Read both pipes until they close. Once confine has exited, give them two more seconds:
  // a sandbox process that survived confine would hold them open forever (and the stray
  // process check reports it).
  while (out_open || err_open) {
    const auto now = Clock::now();
    if (!exited_at && now >= deadline) {
      result.timed_out = true;
      ::kill(pid_, SIGKILL);
    }
    if (exited_at && now - *exited_at > std::chrono::seconds(2)) break;
    pollfd fds[3] = {{out_open ? out_fd_ : -1, POLLIN, 0}, {err_open ? err_fd_ : -1, POLLIN, 0},
                     {exited_at ? -1 : pidfd, POLLIN, 0}};
    const int ready = ::poll(fds, 3, 100);
    if (ready < 0 && errno != EINTR) die("poll");
    if (fds[0].revents != 0) out_open = drain(out_fd_, result.out);
    if (fds[1].revents != 0) err_open = drain(err_fd_, result.err);
    if (fds[2].revents != 0) exited_at = Clock::now();
  }
  ::close(pidfd);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  waited_ = true;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);

  if (!report_path_.empty()) {
    if (auto text = read_text(report_path_); text && !text->empty()) {
      result.report_text = *text;
      auto parsed = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded()) result.report = std::move(parsed);
    }
  }
  return result;
}

Running start(const Invocation& invocation, const std::string& report_path) {
  std::vector<std::string> argv = invocation.argv;
  std::vector<std::string> env = merged_environment(invocation.extra_env);
  std::vector<char*> argv_ptrs = pointers(argv);
  std::vector<char*> env_ptrs = pointers(env);

  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) die("pipe2");
  const int in = invocation.stdin_fd ? *invocation.stdin_fd : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) die("open /dev/null");

  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    // Only async-signal-safe calls until execve. Descriptors the test opened without
    // O_CLOEXEC are inherited on purpose (the fd leak test relies on it).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out_fd = invocation.stdout_fd ? *invocation.stdout_fd : out[1];
    const int err_fd = invocation.stderr_fd ? *invocation.stderr_fd : err[1];
    if (::dup2(in, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(127);
    ::execve(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  if (!invocation.stdin_fd) ::close(in);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);
  return Running(pid, out[0], err[0], report_path, invocation.deadline);
}

std::vector<pid_t> processes_with_marker(const std::string& marker) {
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (const dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || pid == ::getpid()) continue;
    if (alive_with_marker(static_cast<pid_t>(pid), marker)) found.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return found;
}

bool alive_with_marker(pid_t pid, const std::string& marker) {
  const auto cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline) return false;
  // A zombie has an empty cmdline; it is dead, only not reaped yet.
  return cmdline->find(marker) != std::string::npos;
}

std::vector<pid_t> wait_until_gone(const std::string& marker, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (true) {
    auto left = processes_with_marker(marker);
    if (left.empty() || Clock::now() >= until) return left;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void write_text(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) die("open " + path);
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) die("write " + path);
  ::fchmod(fd, mode);  // whatever the umask said
  ::close(fd);
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace integ
