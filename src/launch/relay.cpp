#include "relay.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace confine::launch {
namespace {

constexpr size_t kChunk = 1 << 20;         // one splice or read at most
constexpr size_t kBufferBytes = 64 * 1024;  // for streams that cannot splice
constexpr int kPipeBytes = 1 << 20;         // the job's pipes: fewer wake-ups at high rates
constexpr int kPumpRounds = 16;             // per poll round, so a flood never starves the timers

bool same_description(int a, int b) {
  const pid_t self = ::getpid();
  return ::syscall(SYS_kcmp, self, self, KCMP_FILE, a, b) == 0;
}

// A nonblocking description of confine's own fd `fd` for writing, where one can be had without
// changing the caller's (O_NONBLOCK is a property of the open file description, which the caller
// shares): a pipe or a terminal is opened again through /proc/self/fd. A regular file is written
// as it is (a write there does not wait for a reader; a new description would lose O_APPEND and
// the caller's offset). A socket is written with send(MSG_DONTWAIT).
struct Destination {
  int fd = -1;
  UniqueFd owned;
  bool socket = false;
  bool file = false;  // never polled for POLLOUT: always writable
};

Destination destination(int fd) {
  Destination d;
  d.fd = fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return d;
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
    d.file = true;
  } else if (S_ISSOCK(st.st_mode)) {
    d.socket = true;
  } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const int reopened = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (reopened >= 0) {
      d.owned.reset(reopened);
      d.fd = reopened;
    } else if (S_ISCHR(st.st_mode) && !::isatty(fd)) {
      d.file = true;  // /dev/null and the like never block
    }
  }
  return d;
}

// /dev/null on confine's side: the job can have a /dev/null of its own, with nothing to relay
// (and nothing the job could learn from it).
bool is_dev_null(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

}  // namespace

struct Relay::Stream {
  enum class Kind { kStdout, kStderr, kStdin };
  Kind kind = Kind::kStdout;
  UniqueFd source_owned;
  int source = -1;
  Destination sink;
  bool input() const { return kind == Kind::kStdin; }
  bool splice = false;           // pages moved by splice(2); else read into `buffer`, then write
  bool source_is_caller = false;  // confine's own stdin: never assumed nonblocking
  std::vector<char> buffer;
  size_t pending_at = 0, pending = 0;
  bool open = true;          // the source has not reached end-of-file
  bool waiting_sink = false;  // the sink was full: wait for POLLOUT on it
  uint64_t written = 0, dropped = 0;

  void close_source() {
    open = false;
    source_owned.reset();
    source = -1;
  }
};

Relay::~Relay() = default;

Expected<std::unique_ptr<Relay>> Relay::create(const RelayOptions& options) {
  std::unique_ptr<Relay> relay(new Relay());
  Relay& r = *relay;
  r.limit_ = options.output_limit;

  // stdin: a pipe confine fills from its own stdin, or /dev/null (docker run without -i: input
  // meant for confine's caller is not eaten by a job that never reads it).
  if (options.relay_stdin) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return fail_errno(errno, "pipe2 for the job's stdin");
    r.job_fds_[0].reset(fds[0]);
    auto s = std::make_unique<Stream>();
    s->kind = Stream::Kind::kStdin;
    s->source = options.in_fd;
    s->source_is_caller = true;
    s->sink.fd = fds[1];
    s->sink.owned.reset(fds[1]);
    set_nonblocking(fds[1]);
    s->buffer.resize(kBufferBytes);
    r.streams_.push_back(std::move(s));
  } else {
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0) return fail_errno(errno, "open /dev/null for the job's stdin");
    r.job_fds_[0].reset(null);
  }

  // stdout and stderr. One stream for both when they are one description on confine's side
  // (`>out 2>&1`, a terminal): the job's interleaving is kept exactly, as unsandboxed.
  const bool shared = same_description(options.out_fd, options.err_fd);
  for (int n = 1; n <= 2; ++n) {
    const int caller = n == 1 ? options.out_fd : options.err_fd;
    if (n == 2 && shared) {
      const int copy = ::fcntl(r.job_fds_[1].get(), F_DUPFD_CLOEXEC, 3);
      if (copy < 0) return fail_errno(errno, "dup of the job's stdout");
      r.job_fds_[2].reset(copy);
      break;
    }
    if (!r.limit_ && is_dev_null(caller)) {
      const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null < 0) return fail_errno(errno, "open /dev/null for the job's output");
      r.job_fds_[n].reset(null);
      continue;
    }
    auto s = std::make_unique<Stream>();
    s->kind = n == 1 ? Stream::Kind::kStdout : Stream::Kind::kStderr;
    s->sink = destination(caller);
    if (::isatty(caller) && r.pty_master_ < 0) {
      // A terminal: the job gets a pty of its own (as sudo's use_pty), so it still sees a
      // terminal (line buffering, colours, its width) but its ioctls change only its own pty.
      const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
      if (master < 0) return fail_errno(errno, "posix_openpt for the job's terminal");
      s->source_owned.reset(master);
      if (::unlockpt(master) != 0) return fail_errno(errno, "unlockpt");
      int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (slave < 0) return fail_errno(errno, "TIOCGPTPEER for the job's terminal");
      r.job_fds_[n].reset(slave);
      // The caller's settings, except output processing: the caller's terminal does that once,
      // on the bytes confine passes on (else "\n" would arrive as "\r\r\n").
      termios mode{};
      if (::tcgetattr(caller, &mode) == 0) {
        mode.c_oflag &= ~static_cast<tcflag_t>(OPOST);
        (void)::tcsetattr(slave, TCSANOW, &mode);
      }
      r.pty_master_ = master;
      r.terminal_fd_ = caller;
      r.resize_terminal();
      s->buffer.resize(kBufferBytes);  // splice cannot read a terminal
    } else {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) < 0) return fail_errno(errno, "pipe2 for the job's output");
      s->source_owned.reset(fds[0]);
      r.job_fds_[n].reset(fds[1]);
      set_nonblocking(fds[0]);
      (void)::fcntl(fds[0], F_SETPIPE_SZ, kPipeBytes);  // best effort: the default 64 KiB works too
      // splice moves pages to a pipe or a file without copying them through confine; sockets
      // and terminals get read and write.
      s->splice = !s->sink.socket && !::isatty(s->sink.fd);
      if (!s->splice) s->buffer.resize(kBufferBytes);
    }
    s->source = s->source_owned.get();
    r.streams_.push_back(std::move(s));
  }
  return relay;
}

int Relay::job_fd(int n) const { return job_fds_[n].get(); }

void Relay::close_job_ends() {
  for (auto& fd : job_fds_) fd.reset();
}

void Relay::resize_terminal() {
  if (pty_master_ < 0 || terminal_fd_ < 0) return;
  winsize size{};
  if (::ioctl(terminal_fd_, TIOCGWINSZ, &size) == 0) (void)::ioctl(pty_master_, TIOCSWINSZ, &size);
}

void Relay::poll_fds(std::vector<pollfd>& out) const {
  for (const auto& s : streams_) {
    pollfd p{-1, 0, 0};
    if (s->pending > 0 || s->waiting_sink) {
      if (!s->sink.file) p = {s->sink.fd, POLLOUT, 0};
    } else if (s->open) {
      p = {s->source, POLLIN, 0};
    }
    out.push_back(p);
  }
}

void Relay::count(size_t bytes) { passed_ += bytes; }

namespace {

// What happened to one attempt to write out what a stream holds.
enum class Step { kMoved, kBlocked, kDone };

// Writes out what `s` holds, until it is all written, the sink is full, or the sink is gone.
Step flush(Relay::Stream& s) {
  while (s.pending > 0) {
    const char* at = s.buffer.data() + s.pending_at;
    const ssize_t n = s.sink.socket ? ::send(s.sink.fd, at, s.pending, MSG_DONTWAIT | MSG_NOSIGNAL)
                                    : ::write(s.sink.fd, at, s.pending);
    if (n > 0) {
      s.pending_at += static_cast<size_t>(n);
      s.pending -= static_cast<size_t>(n);
      s.written += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !s.sink.file) {
      s.waiting_sink = true;
      return Step::kBlocked;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;  // a file: retry
    // The reader is gone (EPIPE) or the sink failed: what is held is dropped, and the job's end
    // closes, so its next write fails as it would have without confine in between.
    s.dropped += s.pending;
    s.pending = 0;
    s.close_source();
    if (s.input()) s.sink.owned.reset();
    return Step::kDone;
  }
  s.pending_at = 0;
  s.waiting_sink = false;
  return Step::kMoved;
}

}  // namespace

void Relay::on_poll(std::span<const pollfd> fds) {
  for (size_t i = 0; i < streams_.size() && i < fds.size(); ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    Stream& s = *streams_[i];
    s.waiting_sink = false;
    for (int round = 0; round < kPumpRounds; ++round) {
      if (s.pending > 0 && flush(s) != Step::kMoved) break;
      if (!s.open) break;
      // Output past limits.output is read and dropped: the job is being killed for it.
      const bool output = !s.input();
      if (output && limit_ && passed_ >= *limit_) {
        constexpr size_t kDropBytes = 16384;
        if (!drop_buffer_) drop_buffer_ = std::make_unique<char[]>(kDropBytes);
        const ssize_t n = ::read(s.source, drop_buffer_.get(), kDropBytes);
        if (n > 0) {
          s.dropped += static_cast<uint64_t>(n);
          limit_exceeded_ = true;
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        s.close_source();  // end-of-file, or EIO from a pty whose job is gone
        break;
      }
      size_t want = kChunk;
      if (output && limit_) want = std::min<uint64_t>(want, *limit_ - passed_);
      if (s.splice) {
        const ssize_t n = ::splice(s.source, nullptr, s.sink.fd, nullptr, want, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n > 0) {
          s.written += static_cast<uint64_t>(n);
          count(static_cast<size_t>(n));
          continue;
        }
        if (n == 0) {
          s.close_source();
          break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          // Either the job's pipe is empty or the sink is full; only the second waits on the sink.
          // A file never makes anyone wait (and is never polled): only then is it the source.
          int available = 0;
          if (!s.sink.file && ::ioctl(s.source, FIONREAD, &available) == 0 && available > 0) s.waiting_sink = true;
          break;
        }
        if (errno == EINVAL || errno == ENOSYS) {  // a sink splice cannot write (O_APPEND, ...)
          s.splice = false;
          s.buffer.resize(kBufferBytes);
          continue;
        }
        s.close_source();  // the reader is gone (EPIPE) or the sink failed
        break;
      }
      const ssize_t n = ::read(s.source, s.buffer.data(), std::min(want, s.buffer.size()));
      if (n > 0) {
        s.pending = static_cast<size_t>(n);
        if (output) count(static_cast<size_t>(n));
        if (flush(s) != Step::kMoved) break;
        // Confine's own stdin is read once per readiness: it may be shared and blocking.
        if (s.source_is_caller) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      // End-of-file, or EIO: a pty whose last slave is closed. For stdin, the job sees EOF too.
      s.close_source();
      if (s.input()) s.sink.owned.reset();
      break;
    }
  }
}

void Relay::drain(std::optional<std::chrono::steady_clock::time_point> deadline) {
  // Nobody reads the job's stdin any more.
  for (auto& s : streams_) {
    if (s->input()) {
      s->close_source();
      s->sink.owned.reset();
      s->pending = 0;
    }
  }
  // Every writer is gone now, so each output stream ends in end-of-file once the caller has
  // taken what the pipe still holds.
  using std::chrono::milliseconds;
  std::vector<pollfd> fds;
  bool gave_up = false;
  while (true) {
    fds.clear();
    poll_fds(fds);
    if (std::none_of(fds.begin(), fds.end(), [](const pollfd& p) { return p.fd >= 0; })) break;
    const auto now = std::chrono::steady_clock::now();
    if (deadline && now >= *deadline) {
      gave_up = true;  // out of time: the caller is not reading, or not fast enough
      break;
    }
    // poll's timeout is an int of milliseconds: wait in slices of at most a minute.
    milliseconds wait{60'000};
    if (deadline) wait = std::min(wait, std::chrono::duration_cast<milliseconds>(*deadline - now) + milliseconds{1});
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (n < 0 && errno != EINTR) {
      gave_up = true;
      break;
    }
    if (n > 0) on_poll(fds);
  }
  if (!gave_up) return;
  // Count what the job wrote that never reached the caller.
  for (auto& s : streams_) {
    if (s->input()) continue;
    s->dropped += s->pending;
    s->pending = 0;
    if (s->open) {
      int available = 0;
      if (::ioctl(s->source, FIONREAD, &available) == 0 && available > 0) s->dropped += static_cast<uint64_t>(available);
      s->close_source();
    }
  }
}

report::OutputStats Relay::stats() const {
  report::OutputStats out;
  out.limit_bytes = limit_;
  for (const auto& s : streams_) {
    if (s->kind == Stream::Kind::kStdout) out.stdout_bytes += s->written;
    if (s->kind == Stream::Kind::kStderr) out.stderr_bytes += s->written;
    if (!s->input()) out.dropped_bytes += s->dropped;
  }
  return out;
}

}  // namespace confine::launch
