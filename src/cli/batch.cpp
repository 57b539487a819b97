// `confine batch`: one confine process runs many jobs (docs/batch.md).
//
// The batch process reads JSON-lines requests on stdin, prepares each job exactly as `confine
// run` does (run_plan.h: the same option checks, the same finished report for a bad policy or
// option, the same plan), with each policy file read, and each seccomp filter compiled, once per
// batch. For each job it forks a worker from itself: no exec, no static initialisers, no
// re-parsing. The worker launches the job through the same launch::run as `confine run` (its own
// namespaces, cgroup leaf, mounts and filter), writes the report on a pipe and exits. The batch
// process keeps at most --jobs workers, writes each report as one line the moment its job ends,
// and reaps the worker. It never starts a thread, so every fork copies a single-threaded process
// whose locks (malloc's, spdlog's) no other thread can be holding.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "confine/fd.h"
#include "confine/report.h"
#include "confine/safe_path.h"
#include "log.h"
#include "run_plan.h"

namespace confine::cli {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxRequestBytes = 1 << 20;  // one request line; longer is an error line

// A request, turned into the arguments `confine run` would have parsed, plus where the job's
// stdout and stderr go.
struct Request {
  Json id;  // echoed in the job's line; null when the request has none
  RunArgs run;
  UniqueFd stdout_file, stderr_file;  // opened from "stdout" / "stderr"
  int stdout_fd = -1, stderr_fd = -1;  // the batch's own descriptors ("stdout_fd" / "stderr_fd")
};

// The request keys: run's long option names ("keep-env" may be spelt "keep_env").
constexpr const char* kListKeys[] = {"ro", "rw", "deny", "tmpfs", "env", "keep_env"};
constexpr const char* kValueKeys[] = {"cwd", "hostname", "timeout", "cpu_time", "kill_after", "memory", "pids",
                                      "cpus", "file_size", "open_files", "max_output", "output", "net"};
constexpr const char* kOtherKeys[] = {"id", "argv", "policy", "best_effort", "audit", "stdin",
                                      "stdout", "stderr", "stdout_fd", "stderr_fd"};

std::vector<std::string>* list_field(policy::Overrides& o, const std::string& key) {
  if (key == "ro") return &o.ro;
  if (key == "rw") return &o.rw;
  if (key == "deny") return &o.deny;
  if (key == "tmpfs") return &o.tmpfs;
  if (key == "env") return &o.env;
  if (key == "keep_env") return &o.keep_env;
  return nullptr;
}

std::optional<std::string>* value_field(policy::Overrides& o, const std::string& key) {
  if (key == "cwd") return &o.cwd;
  if (key == "hostname") return &o.hostname;
  if (key == "timeout") return &o.timeout;
  if (key == "cpu_time") return &o.cpu_time;
  if (key == "kill_after") return &o.kill_after;
  if (key == "memory") return &o.memory;
  if (key == "pids") return &o.pids;
  if (key == "cpus") return &o.cpus;
  if (key == "file_size") return &o.file_size;
  if (key == "open_files") return &o.open_files;
  if (key == "max_output") return &o.max_output;
  if (key == "output") return &o.output;
  if (key == "net") return &o.net;
  return nullptr;
}

std::string option_name(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

// A value as run's command line would have it: strings as they are, numbers as written.
std::optional<std::string> scalar_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

// The request's fields, checked as the command line is checked: unknown keys and wrong types
// are errors (usage errors for `confine run`); the option values themselves are checked later,
// by policy::apply_overrides, exactly as run's flags are.
Expected<void> read_request(const Json& j, Request& request) {
  if (!j.is_object()) return fail(ErrorCode::kInvalidArgument, "a request is a JSON object");
  if (auto id = j.find("id"); id != j.end()) request.id = *id;
  auto& o = request.run.overrides;
  for (const auto& [raw_key, value] : j.items()) {
    std::string key = raw_key;
    std::replace(key.begin(), key.end(), '-', '_');
    if (key == "id") continue;
    if (key == "argv") {
      if (!value.is_array() || value.empty()) return fail(ErrorCode::kInvalidArgument, "\"argv\": a non-empty array of strings");
      for (const auto& word : value) {
        if (!word.is_string()) return fail(ErrorCode::kInvalidArgument, "\"argv\": a non-empty array of strings");
        request.run.command.push_back(word.get<std::string>());
      }
    } else if (key == "policy") {
      if (!value.is_string()) return fail(ErrorCode::kInvalidArgument, "\"policy\": a string (a file or a policy name)");
      request.run.policy_path = value.get<std::string>();
    } else if (key == "best_effort" || key == "audit") {
      if (!value.is_boolean()) return fail(ErrorCode::kInvalidArgument, "\"" + key + "\": true or false");
      (key == "audit" ? request.run.audit : o.best_effort) = value.get<bool>();
    } else if (key == "stdin") {
      // The batch's stdin carries the requests: no job may read it.
      if (value != "null") return fail(ErrorCode::kInvalidArgument, "\"stdin\": only \"null\" (a job's stdin is /dev/null)");
    } else if (key == "stdout" || key == "stderr") {
      if (!value.is_string()) return fail(ErrorCode::kInvalidArgument, "\"" + key + "\": a file path");
      auto opened = safe_path::open_for_writing(value.get<std::string>(), 0644);
      if (!opened) return unexpected(std::move(opened.error()).add_context("\"" + key + "\""));
      (key == "stdout" ? request.stdout_file : request.stderr_file) = std::move(*opened);
    } else if (key == "stdout_fd" || key == "stderr_fd") {
      // One of the batch's own descriptors, opened by whoever started it; never its stdin or
      // its stdout, which carry the requests and the reports.
      if (!value.is_number_integer() || value.get<long long>() < 2 || value.get<long long>() > INT_MAX ||
          ::fcntl(static_cast<int>(value.get<long long>()), F_GETFD) < 0) {
        return fail(ErrorCode::kInvalidArgument, "\"" + key + "\": an open file descriptor of the batch, 2 or above");
      }
      (key == "stdout_fd" ? request.stdout_fd : request.stderr_fd) = static_cast<int>(value.get<long long>());
    } else if (auto* list = list_field(o, key)) {
      if (auto one = scalar_text(value)) {
        list->push_back(*one);
      } else if (value.is_array()) {
        for (const auto& item : value) {
          auto text = scalar_text(item);
          if (!text) return fail(ErrorCode::kInvalidArgument, "\"" + raw_key + "\": a string or an array of strings");
          list->push_back(*text);
        }
      } else {
        return fail(ErrorCode::kInvalidArgument, "\"" + raw_key + "\": a string or an array of strings");
      }
    } else if (auto* field = value_field(o, key)) {
      auto text = scalar_text(value);
      if (!text) return fail(ErrorCode::kInvalidArgument, "\"" + raw_key + "\": a string (as for " + option_name(key) + ")");
      *field = *text;
    } else {
      std::vector<std::string_view> names;
      for (const char* k : kListKeys) names.emplace_back(k);
      for (const char* k : kValueKeys) names.emplace_back(k);
      for (const char* k : kOtherKeys) names.emplace_back(k);
      const std::string near = policy::closest_name(key, names);
      return fail(ErrorCode::kInvalidArgument,
                  "unknown key \"" + raw_key + "\"" + (near.empty() ? "" : "; did you mean \"" + near + "\"?"));
    }
  }
  if (request.run.command.empty()) return fail(ErrorCode::kInvalidArgument, "no \"argv\": the command to run");
  return {};
}

struct Worker {
  pid_t pid = -1;
  Json id;
  UniqueFd out;        // the report pipe's read end
  std::string report;  // what the worker wrote so far
};

// Writes all of `text` to the batch's stdout; false when it cannot (the reader went away).
bool write_line(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string error_line(const Json& id, const std::string& message) {
  return Json{{"id", id}, {"error", message}}.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

// The worker: everything below runs in the forked copy of the batch process and ends in
// _exit, so no static destructor or atexit handler of the batch runs twice.
[[noreturn]] void run_worker(const LogOptions& log, const PreparedRun& prepared, Request& request, int report_fd) {
  // confine's own lines keep going where the batch's go (by default the batch's stderr), not
  // into the job's stderr, which is about to become this process's fd 2.
  if (!log.file && (!log.fd || *log.fd <= 2)) {
    LogOptions own = log;
    own.fd = ::fcntl(log.fd.value_or(STDERR_FILENO), F_DUPFD_CLOEXEC, 3);
    if (*own.fd >= 0) (void)setup_logging(own);
  }
  // The job's stdio, where the relay (launch/relay.h) passes it on: fds 1 and 2 of this
  // process; 0 is /dev/null, so nothing can read the batch's requests.
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const int out = request.stdout_file ? request.stdout_file.get() : request.stdout_fd >= 0 ? request.stdout_fd : null;
  const int err = request.stderr_file ? request.stderr_file.get() : request.stderr_fd >= 0 ? request.stderr_fd : null;
  if (null < 0 || ::dup2(null, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0) {
    _exit(report::kExitConfineFailed);
  }
  // Nothing of the batch or of another job stays open here: the request pipe, other workers'
  // report pipes, other jobs' output files, the batch's signalfd. Only the report pipe and the
  // log's descriptor are kept (the launch makes its own, close-on-exec, and the sandbox's child
  // closes every descriptor above 2 before its execve anyway).
  std::vector<int> keep{report_fd, log_descriptor()};
  std::sort(keep.begin(), keep.end());
  unsigned first = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(first)) continue;
    if (static_cast<unsigned>(fd) > first) (void)::syscall(SYS_close_range, first, static_cast<unsigned>(fd) - 1, 0);
    first = static_cast<unsigned>(fd) + 1;
  }
  (void)::syscall(SYS_close_range, first, ~0U, 0);

  report::Report r = launch_prepared(prepared);
  const std::string text = report::to_json_text(r, /*pretty=*/false);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(report_fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(report::kExitConfineFailed);
    done += static_cast<size_t>(n);
  }
  _exit(0);
}

class Batch {
 public:
  explicit Batch(const BatchArgs& args) : args_(args) {}

  int run() {
    // SIGTERM, SIGINT, SIGHUP and SIGQUIT wait in a signalfd: they cancel the batch. Workers
    // inherit the mask, so a signal sent to one before its launch set up its own signalfd
    // stays pending until that signalfd reads it and the reaper forwards it to the job.
    sigset_t handled;
    sigemptyset(&handled);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&handled, sig);
    if (::sigprocmask(SIG_BLOCK, &handled, nullptr) != 0) return fail_batch("sigprocmask", errno);
    signals_.reset(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_) return fail_batch("signalfd", errno);

    while (!input_done_ || !lines_.empty() || !workers_.empty()) {
      start_ready_jobs();
      if (input_done_ && lines_.empty() && workers_.empty()) break;
      std::vector<pollfd> fds;
      fds.push_back({signals_.get(), POLLIN, 0});
      const bool want_input = !input_done_ && lines_.empty() && workers_.size() < args_.jobs;
      if (want_input) fds.push_back({STDIN_FILENO, POLLIN, 0});
      const size_t first_worker = fds.size();
      for (const Worker& w : workers_) fds.push_back({w.out.get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return fail_batch("poll", errno);
      }
      if (fds[0].revents != 0) read_signals();
      if (want_input && fds[1].revents != 0) read_input();
      // Backwards, so finishing a worker (erased from the list) leaves earlier indices valid.
      for (size_t i = workers_.size(); i-- > 0;) {
        if (fds[first_worker + i].revents != 0) read_worker(i);
      }
    }
    if (output_failed_) return report::kExitConfineFailed;
    if (cancelled_) return 128 + cancelled_;
    return 0;
  }

 private:
  int fail_batch(const char* what, int err) {
    error(std::string("batch: ") + what + ": " + std::strerror(err));
    return report::kExitConfineFailed;
  }

  // Cancels every job: the signal goes to each worker, whose reaper forwards it to its job and
  // escalates to SIGKILL after the job's kill grace, as for `confine run`. No new job starts.
  void cancel(int sig) {
    if (!cancelled_) cancelled_ = sig;
    input_done_ = true;
    lines_.clear();
    for (const Worker& w : workers_) (void)::kill(w.pid, sig);
  }

  void read_signals() {
    signalfd_siginfo info{};
    while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      cancel(static_cast<int>(info.ssi_signo));
    }
  }

  void read_input() {
    char buffer[65536];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      // End of the requests: what is left without a newline is the last one.
      if (!partial_.empty() && !skipping_) lines_.push_back(std::move(partial_));
      partial_.clear();
      input_done_ = true;
      return;
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[i] == '\n') {
        if (!skipping_) lines_.push_back(std::move(partial_));
        partial_.clear();
        skipping_ = false;
      } else if (!skipping_) {
        partial_ += buffer[i];
        if (partial_.size() > kMaxRequestBytes) {
          emit(error_line(nullptr, "request longer than " + std::to_string(kMaxRequestBytes) + " bytes"));
          partial_.clear();
          skipping_ = true;
        }
      }
    }
  }

  void start_ready_jobs() {
    while (!lines_.empty() && workers_.size() < args_.jobs && !cancelled_) {
      std::string line = std::move(lines_.front());
      lines_.erase(lines_.begin());
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      start_job(line);
    }
  }

  void start_job(const std::string& line) {
    Request request;
    const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      emit(error_line(nullptr, "not a JSON object: " + line.substr(0, 80)));
      return;
    }
    if (auto read = read_request(j, request); !read) {
      emit(error_line(request.id, read.error().render()));
      return;
    }
    PreparedRun prepared = prepare_run(request.run, &cache_);
    if (prepared.finished) {
      emit(report_line(request.id, report::to_json_text(*prepared.finished, false)));
      return;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) {
      emit(error_line(request.id, std::string("pipe2: ") + std::strerror(errno)));
      return;
    }
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    const pid_t pid = ::fork();
    if (pid < 0) {
      emit(error_line(request.id, std::string("fork: ") + std::strerror(errno)));
      return;
    }
    if (pid == 0) run_worker(args_.log, prepared, request, write_end.get());
    workers_.push_back(Worker{pid, request.id, std::move(read_end), {}});
  }

  static std::string report_line(const Json& id, const std::string& report_json) {
    return "{\"id\":" + id.dump(-1, ' ', false, Json::error_handler_t::replace) + ",\"report\":" + report_json + "}\n";
  }

  void read_worker(size_t index) {
    Worker& w = workers_[index];
    char buffer[65536];
    const ssize_t n = ::read(w.out.get(), buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n > 0) {
      w.report.append(buffer, static_cast<size_t>(n));
      return;
    }
    // End of file: the worker has exited (or is about to). Reap it, then say how the job ended.
    int status = 0;
    while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!w.report.empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      emit(report_line(w.id, w.report));
    } else {
      const std::string how = WIFSIGNALED(status) ? "was killed by " + report::signal_name(WTERMSIG(status))
                                                  : "exited with status " + std::to_string(WEXITSTATUS(status));
      emit(error_line(w.id, "the worker for this job " + how + " without a report"));
    }
    workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(index));
  }

  void emit(const std::string& line) {
    if (output_failed_) return;
    if (!write_line(line)) {
      // Nobody reads the reports any more: a batch-level failure. The running jobs are
      // cancelled (a report nobody can read is no reason to keep them) and the batch ends.
      output_failed_ = true;
      error(std::string("batch: cannot write to stdout: ") + std::strerror(errno) + "; cancelling");
      cancel(SIGTERM);
    }
  }

  const BatchArgs& args_;
  RunCache cache_;
  UniqueFd signals_;
  std::vector<Worker> workers_;
  std::vector<std::string> lines_;  // complete request lines not yet started
  std::string partial_;             // the line being read
  bool skipping_ = false;           // the rest of an over-long line
  bool input_done_ = false;
  bool output_failed_ = false;
  int cancelled_ = 0;  // the signal that cancelled the batch
};

}  // namespace

int batch_command(const BatchArgs& args) {
  Batch batch(args);
  return batch.run();
}

}  // namespace confine::cli
