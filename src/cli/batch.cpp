// `confine batch`: one confine process runs many jobs (docs/batch.md).
//
// The batch process forks --jobs workers from itself at the start (no exec, no static
// initialisers again), reads JSON-lines requests on stdin and hands each to an idle worker. A
// worker prepares the job exactly as `confine run` does (run_plan.h: the same option checks,
// the same finished report for a bad policy or option, the same plan), with each policy file
// read and each seccomp filter compiled once per worker, launches it through the same
// launch::run (its own namespaces, cgroup leaf, mounts and filter for every job) and answers
// with one line, which the batch process writes out the moment it comes.
//
// Why long-lived workers and not a fork per job: measured here, a fork per job cost the batch
// process 3.5 ms of CPU and 57 page faults per job, nearly all copy-on-write faults with TLB
// shootdowns as the batch process and the fresh worker both wrote pages they still shared; a
// worker that stays has its pages to itself after its first jobs. The batch process never
// starts a thread, so every fork copies a single-threaded process whose locks (malloc's,
// spdlog's) no other thread can be holding.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "confine/cgroup.h"
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
                                      "cpus", "file_size", "open_files", "max_output", "output", "net", "isolation"};
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
  if (key == "isolation") return &o.isolation;
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
Expected<void> read_request(const Json& j, Request& request, const std::set<int>& own_fds) {
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
      // its stdout, which carry the requests and the reports, nor one the worker made for
      // itself (its request and answer pipes: a job writing into those could forge answers).
      const long long fd = value.is_number_integer() ? value.get<long long>() : -1;
      if (fd < 2 || fd > INT_MAX || own_fds.count(static_cast<int>(fd)) != 0 || ::fcntl(static_cast<int>(fd), F_GETFD) < 0) {
        return fail(ErrorCode::kInvalidArgument, "\"" + key + "\": an open file descriptor of the batch, 2 or above");
      }
      (key == "stdout_fd" ? request.stdout_fd : request.stderr_fd) = static_cast<int>(fd);
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

// Writes all of `text` to `fd`; false when it cannot (the reader went away).
bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string error_line(const Json& id, const std::string& message) {
  return dump(Json{{"id", id}, {"error", message}}) + "\n";
}

std::string report_line(const Json& id, const std::string& report_json) {
  return "{\"id\":" + dump(id) + ",\"report\":" + report_json + "}\n";
}

// Splits a byte stream into lines; a line longer than kMaxRequestBytes is reported once and
// the rest of it skipped.
class LineReader {
 public:
  // Reads what `fd` has; false at end of file (the last unterminated line is then complete).
  bool read_from(int fd, std::vector<std::string>& lines, std::vector<std::string>& too_long) {
    char* buffer = buffer_.get();
    const ssize_t n = ::read(fd, buffer, kBufferBytes);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) {
      if (!partial_.empty() && !skipping_) lines.push_back(std::move(partial_));
      partial_.clear();
      return false;
    }
    // Whole stretches between newlines at a time, not byte by byte.
    std::string_view data(buffer, static_cast<size_t>(n));
    while (!data.empty()) {
      const size_t nl = data.find('\n');
      const std::string_view piece = data.substr(0, nl);
      if (!skipping_) {
        partial_.append(piece);
        if (partial_.size() > kMaxRequestBytes) {
          too_long.push_back(partial_.substr(0, 80));
          partial_.clear();
          skipping_ = true;
        }
      }
      if (nl == std::string_view::npos) break;
      if (!skipping_) lines.push_back(std::move(partial_));
      partial_.clear();
      skipping_ = false;
      data.remove_prefix(nl + 1);
    }
    return true;
  }

 private:
  // On the heap, not the stack: a worker's stack is shared copy-on-write with every sandbox it
  // clones, and the 16 pages of a 64 KiB stack buffer (each touched by -fstack-clash-protection's
  // probes) then cost 16 page faults on each job's next request, about 15 us each on this
  // project's VMs (perf: 94 faults per job before, 82 after).
  static constexpr size_t kBufferBytes = 65536;
  std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(kBufferBytes);
  std::string partial_;
  bool skipping_ = false;
};

// One job in a worker: the request checked as run's command line is, prepared as run prepares
// it, launched with the job's stdout and stderr on this process's fds 1 and 2 (where the relay,
// launch/relay.h, passes the job's output on), and answered with one line.
struct WorkerFds {
  int null = -1;          // /dev/null
  int batch_stderr = -1;  // the batch's fd 2 ("stderr_fd": 2), kept before fd 2 became /dev/null
  std::set<int> own;      // the worker's own descriptors, which no request may name
};

std::string run_job(const std::string& line, RunCache& cache, const WorkerFds& fds) {
  const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return error_line(nullptr, "not a JSON object: " + line.substr(0, 80));
  Request request;
  if (auto read = read_request(j, request, fds.own); !read) return error_line(request.id, read.error().render());
  auto batch_fd = [&fds](int fd) { return fd == STDERR_FILENO ? fds.batch_stderr : fd; };
  const int null_fd = fds.null;
  PreparedRun prepared = prepare_run(request.run, &cache);
  if (prepared.finished) return report_line(request.id, report::to_json_text(*prepared.finished, false));
  const int out = request.stdout_file ? request.stdout_file.get() : request.stdout_fd >= 0 ? batch_fd(request.stdout_fd) : null_fd;
  const int err = request.stderr_file ? request.stderr_file.get() : request.stderr_fd >= 0 ? batch_fd(request.stderr_fd) : null_fd;
  if (::dup2(out, STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0) {
    return error_line(request.id, std::string("dup2 of the job's stdout or stderr: ") + std::strerror(errno));
  }
  report::Report r = launch_prepared(prepared);
  // The job's files are let go of at once: a caller waiting for them to be closed is not kept
  // waiting for the next job.
  (void)::dup2(null_fd, STDOUT_FILENO);
  (void)::dup2(null_fd, STDERR_FILENO);
  return report_line(request.id, report::to_json_text(r, /*pretty=*/false));
}

// A worker: a copy of the batch process, forked once, that runs jobs one after another as the
// batch process hands them over on `requests`, and answers each with one line on `responses`.
// Its memory, caches (policies, filters) and heap are its own from its first jobs on: a job
// costs it no fork and no copy-on-write of the batch process's pages. It ends, with _exit (no
// static destructor of the batch runs twice), at the end of `requests`.
[[noreturn]] void worker_main(const LogOptions& log, int requests, int responses) {
  WorkerFds fds;
  fds.own = {requests, responses, log_descriptor()};
  // The batch's stderr, kept: confine's own lines keep going there by default, not into the
  // jobs' stderr, which fd 2 of this process becomes for each job; and "stderr_fd": 2 names it.
  fds.batch_stderr = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  fds.own.insert(fds.batch_stderr);
  if (!log.file && (!log.fd || *log.fd <= 2)) {
    LogOptions own = log;
    own.fd = log.fd.value_or(STDERR_FILENO) == STDERR_FILENO ? fds.batch_stderr
                                                             : ::fcntl(*log.fd, F_DUPFD_CLOEXEC, 3);
    fds.own.insert(*own.fd);
    if (*own.fd >= 0) (void)setup_logging(own);
  }
  // 0 is /dev/null (nothing may read the batch's requests); 1 and 2 too between jobs (the
  // batch's stdout carries the reports and is the batch process's alone).
  fds.null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  fds.own.insert(fds.null);
  if (fds.null < 0 || fds.batch_stderr < 0 || ::dup2(fds.null, STDIN_FILENO) < 0 ||
      ::dup2(fds.null, STDOUT_FILENO) < 0 || ::dup2(fds.null, STDERR_FILENO) < 0) {
    _exit(report::kExitConfineFailed);
  }
  // A leaf per job: the sweep for leaves of dead confines runs at the first and then once a
  // minute (the leaves any other confine leaves behind wait at most that long).
  cgroup::sweep_at_most_every(std::chrono::minutes(1));
  RunCache cache;
  LineReader reader;
  std::vector<std::string> lines, too_long;
  bool more = true;
  while (more || !lines.empty()) {
    if (lines.empty()) {
      more = reader.read_from(requests, lines, too_long);
      continue;
    }
    const std::string response = run_job(lines.front(), cache, fds);
    lines.erase(lines.begin());
    if (!write_all(responses, response)) _exit(report::kExitConfineFailed);
  }
  _exit(0);
}

struct Worker {
  pid_t pid = -1;
  UniqueFd requests;   // write end: the job's line goes here
  UniqueFd responses;  // read end: its answer comes back
  std::string answer;  // what came back so far
  std::optional<std::string> job;  // the request line it runs, while it runs one
};

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
    // The workers are forked now, before the batch process has read a request: each is a copy
    // of a process with one thread and nothing of any job.
    for (size_t i = 0; i < args_.jobs; ++i) {
      if (!spawn_worker()) return fail_batch("starting a worker", errno);
    }

    while (!workers_.empty()) {
      dispatch();
      std::vector<pollfd> fds;
      fds.push_back({signals_.get(), POLLIN, 0});
      const bool want_input = !input_done_ && lines_.empty() && idle_worker() != nullptr;
      if (want_input) fds.push_back({STDIN_FILENO, POLLIN, 0});
      const size_t first_worker = fds.size();
      for (const Worker& w : workers_) fds.push_back({w.responses.get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return fail_batch("poll", errno);
      }
      if (fds[0].revents != 0) read_signals();
      if (want_input && fds[1].revents != 0) read_input();
      // Backwards, so a worker that ended (erased from the list) leaves earlier indices valid.
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
    cancel(SIGTERM);
    for (Worker& w : workers_) {
      w.requests.reset();
      while (::waitpid(w.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    return report::kExitConfineFailed;
  }

  bool spawn_worker() {
    int to[2], from[2];
    if (::pipe2(to, O_CLOEXEC) < 0) return false;
    UniqueFd to_read(to[0]), to_write(to[1]);
    if (::pipe2(from, O_CLOEXEC) < 0) return false;
    UniqueFd from_read(from[0]), from_write(from[1]);
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      // Nothing of the batch or of another worker stays open in this one: the other workers'
      // pipes (a job must never be able to hold them open or read them), the batch's ends of
      // its own, the signalfd. The caller's descriptors stay (stdout_fd/stderr_fd name them).
      for (const Worker& w : workers_) {
        ::close(w.requests.get());
        ::close(w.responses.get());
      }
      ::close(signals_.get());
      ::close(to_write.get());
      ::close(from_read.get());
      worker_main(args_.log, to_read.get(), from_write.get());
    }
    Worker w;
    w.pid = pid;
    w.requests = std::move(to_write);
    w.responses = std::move(from_read);
    workers_.push_back(std::move(w));
    return true;
  }

  Worker* idle_worker() {
    if (input_done_ && lines_.empty()) return nullptr;
    for (Worker& w : workers_) {
      if (!w.job && w.requests) return &w;
    }
    return nullptr;
  }

  // Hands waiting request lines to idle workers; at the end of the input, closes the workers'
  // request pipes so each ends when its job does.
  void dispatch() {
    while (!lines_.empty()) {
      if (lines_.front().find_first_not_of(" \t\r") == std::string::npos) {
        lines_.erase(lines_.begin());
        continue;
      }
      Worker* w = idle_worker();
      if (w == nullptr) break;
      if (!write_all(w->requests.get(), lines_.front() + "\n")) break;
      w->job = std::move(lines_.front());
      lines_.erase(lines_.begin());
    }
    if (input_done_ && lines_.empty()) {
      for (Worker& w : workers_) w.requests.reset();
    }
  }

  // Cancels every job: the signal goes to each worker, whose reaper forwards it to its job and
  // escalates to SIGKILL after the job's kill grace, as for `confine run`. No new job starts.
  void cancel(int sig) {
    if (!cancelled_) cancelled_ = sig;
    input_done_ = true;
    lines_.clear();
    for (const Worker& w : workers_) {
      if (w.job) (void)::kill(w.pid, sig);
    }
  }

  void read_signals() {
    signalfd_siginfo info{};
    while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      cancel(static_cast<int>(info.ssi_signo));
    }
  }

  void read_input() {
    std::vector<std::string> too_long;
    if (!input_.read_from(STDIN_FILENO, lines_, too_long)) input_done_ = true;
    for (const auto& start : too_long) {
      emit(error_line(nullptr, "request longer than " + std::to_string(kMaxRequestBytes) + " bytes: " + start));
    }
  }

  void read_worker(size_t index) {
    Worker& w = workers_[index];
    char buffer[65536];
    const ssize_t n = ::read(w.responses.get(), buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n > 0) {
      w.answer.append(buffer, static_cast<size_t>(n));
      // An answer is one line; the job is done when its newline came.
      if (!w.answer.empty() && w.answer.back() == '\n') {
        emit(w.answer);
        w.answer.clear();
        w.job.reset();
      }
      return;
    }
    // End of file: the worker has exited. Reap it; a job it was running has no answer of its
    // own, so the batch gives one.
    int status = 0;
    while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (w.job) {
      const Json request = Json::parse(*w.job, nullptr, false);
      const Json id = request.is_object() && request.contains("id") ? request["id"] : Json();
      const std::string how = WIFSIGNALED(status) ? "was killed by " + report::signal_name(WTERMSIG(status))
                                                  : "exited with status " + std::to_string(WEXITSTATUS(status));
      emit(error_line(id, "the worker running this job " + how + " before it answered"));
    }
    const bool replace = w.requests && !input_done_;
    workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(index));
    // A worker that died is replaced while requests still come (forked from this process,
    // still single-threaded).
    if (replace && !spawn_worker()) error(std::string("batch: cannot start a worker: ") + std::strerror(errno));
  }

  void emit(const std::string& line) {
    if (output_failed_) return;
    if (!write_all(STDOUT_FILENO, line)) {
      // Nobody reads the reports any more: a batch-level failure. The running jobs are
      // cancelled (a report nobody can read is no reason to keep them) and the batch ends.
      output_failed_ = true;
      error(std::string("batch: cannot write to stdout: ") + std::strerror(errno) + "; cancelling");
      cancel(SIGTERM);
    }
  }

  const BatchArgs& args_;
  UniqueFd signals_;
  std::vector<Worker> workers_;
  LineReader input_;
  std::vector<std::string> lines_;  // complete request lines not yet handed to a worker
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
