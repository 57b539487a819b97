// Running `confine run` for a test: fork + execve (never a shell), stdout and stderr through
// pipes, the report through --report FILE, parsed with nlohmann::json.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace integ {

// Where the binaries and policies are: compiled in by CMake, overridable through the
// environment (CONFINE_INTEG_CONFINE, _PROBE, _PROBE_DIR, _POLICY_DIR) for a relocated copy.
std::string confine_binary();
std::string probe_binary();
std::string learn_probe_binary();  // confine-learn-probe, static (probe_learn.c)
std::string probe_dir();
std::string policy_dir();  // integration/policies
std::string shipped_policy_dir();  // policies/, the shipped ones (CONFINE_POLICY_PATH for confine)

struct Invocation {
  std::vector<std::string> argv;            // complete argv, argv[0] is the program
  std::vector<std::string> extra_env;       // NAME=VALUE, added to (or replacing in) our environ
  std::optional<int> stdin_fd;              // default: /dev/null
  std::optional<int> stdout_fd, stderr_fd;  // default: pipes the harness reads (out, err)
  std::chrono::milliseconds deadline{60000};  // confine is SIGKILLed after this
};

struct RunResult {
  int exit_code = -1;     // -1 when confine itself died of a signal
  int term_signal = 0;    // the signal that killed confine, if any
  bool timed_out = false;  // the harness' deadline expired (a test failure, never expected)
  std::string out;
  std::string err;
  std::optional<nlohmann::json> report;  // absent when no report file was written
  std::string report_text;

  // Everything, for failure messages.
  [[nodiscard]] std::string describe() const;
  // report["outcome"] or "<no report>".
  [[nodiscard]] std::string outcome() const;
};

// A started process; wait() collects it. The destructor SIGKILLs and reaps one never waited for.
class Running {
 public:
  Running(pid_t pid, int out_fd, int err_fd, std::string report_path, std::chrono::milliseconds deadline);
  Running(Running&& other) noexcept;
  Running& operator=(Running&&) = delete;
  Running(const Running&) = delete;
  ~Running();

  [[nodiscard]] pid_t pid() const { return pid_; }
  void signal(int sig) const;
  RunResult wait();

 private:
  pid_t pid_;
  int out_fd_;
  int err_fd_;
  std::string report_path_;
  std::chrono::milliseconds deadline_;
  bool waited_ = false;
};

// Starts the invocation; report_path (may be empty) is read back by wait().
Running start(const Invocation& invocation, const std::string& report_path);

// Processes whose /proc/PID/cmdline contains `marker` (any argument, as a substring).
std::vector<pid_t> processes_with_marker(const std::string& marker);
// True while /proc/PID exists and its cmdline still contains marker (guards against pid reuse).
bool alive_with_marker(pid_t pid, const std::string& marker);
// Polls until no process carries the marker or the timeout passes; returns the survivors.
std::vector<pid_t> wait_until_gone(const std::string& marker, std::chrono::milliseconds timeout);

// Small file helpers for the host side of a test.
void write_text(const std::string& path, const std::string& text, mode_t mode = 0644);
std::optional<std::string> read_text(const std::string& path);
void remove_tree(const std::string& path);

}  // namespace integ
