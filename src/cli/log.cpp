// setup_logging(), say(): confine's own lines (see log.h).
#include "log.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>

#include "confine/fd.h"
#include "confine/safe_path.h"

namespace confine::cli {
namespace {

// "confine: error: ..." and the like, written with one write(2) per line straight to a
// descriptor: no stdio buffer that a crash or the clone could leave half-written. A write that
// fails (EPIPE: nobody reads the log any more) is dropped; it must never stop a run.
class LineSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  LineSink(int fd, UniqueFd owned) : fd_(fd), owned_(std::move(owned)) {}
  [[nodiscard]] int fd() const { return fd_; }

  // `patience`: how long to wait for a destination that takes nothing (a full pipe nobody
  // reads) before dropping the line; negative waits as long as it takes.
  void write_line(std::string_view label, std::string_view text, int patience_ms = -1) {
    if (patience_ms >= 0) {
      pollfd ready{fd_, POLLOUT, 0};
      int n;
      do {
        n = ::poll(&ready, 1, patience_ms);
      } while (n < 0 && errno == EINTR);
      // A pipe that polls writable has room for a line this short: the write will not block.
      if (n <= 0 || (ready.revents & POLLOUT) == 0) return;
    }
    std::string line = "confine: ";
    line += label;
    line += text;
    line += '\n';
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    write_line(label(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  static std::string_view label(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::trace: return "trace: ";
      case spdlog::level::debug: return "debug: ";
      case spdlog::level::info: return "info: ";
      case spdlog::level::warn: return "warning: ";
      default: return "error: ";
    }
  }

  int fd_;
  UniqueFd owned_;  // --log-file: closed with the sink
};

std::shared_ptr<LineSink>& current_sink() {
  static std::shared_ptr<LineSink> sink;
  return sink;
}

void install(std::shared_ptr<LineSink> sink, spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>("confine", sink);
  logger->set_level(level);
  spdlog::set_default_logger(logger);
  spdlog::set_level(level);
  current_sink() = std::move(sink);
}

// Lines before setup_logging() (or after it failed) go to stderr at the default level.
LineSink& sink() {
  if (!current_sink()) install(std::make_shared<LineSink>(2, UniqueFd()), spdlog::level::warn);
  return *current_sink();
}

}  // namespace

Expected<void> setup_logging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (options.quiet && level < spdlog::level::err) level = spdlog::level::err;
  if (options.file) {
    // Opened like the report file: never through a symlink or directory another user controls
    // (safe_path.h), so a log path inside an old job directory cannot be redirected.
    auto opened = safe_path::open_for_writing(*options.file, 0644);
    if (!opened) return unexpected(std::move(opened.error()).add_context("--log-file " + *options.file));
    const int fd = opened->get();
    install(std::make_shared<LineSink>(fd, std::move(*opened)), level);
    return {};
  }
  if (options.fd) {
    if (*options.fd < 0 || ::fcntl(*options.fd, F_GETFL) < 0) {
      return fail(ErrorCode::kInvalidArgument, "--log-fd " + std::to_string(*options.fd) + " is not an open file descriptor");
    }
    // Kept out of the sandbox and of anything else confine starts (the child closes every fd
    // above 2 anyway); 0-2 belong to the caller's descriptions, whose flags are not ours to set.
    if (*options.fd > 2) (void)::fcntl(*options.fd, F_SETFD, FD_CLOEXEC);
    install(std::make_shared<LineSink>(*options.fd, UniqueFd()), level);
    return {};
  }
  install(std::make_shared<LineSink>(2, UniqueFd()), level);
  return {};
}

int log_descriptor() { return sink().fd(); }

void say(const std::string& text, Said level) {
  LineSink& s = sink();
  // Said after the job ended, when the caller may be waiting for confine to exit before it
  // reads confine's stderr (which the job may have filled): the report has the same words, so
  // rather than hang, the line is dropped after a second.
  constexpr int kPatienceMs = 1000;
  if (spdlog::should_log(level == Said::kInfo ? spdlog::level::info : spdlog::level::warn)) {
    s.write_line("", text, kPatienceMs);
  }
}

void error(const std::string& text) {
  (void)sink();  // installed, so the line has confine's form even before setup_logging()
  spdlog::error("{}", text);
}

void warning(const std::string& text) {
  (void)sink();
  spdlog::warn("{}", text);
}

}  // namespace confine::cli
