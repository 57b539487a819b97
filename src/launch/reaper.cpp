#include "reaper.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "confine/fd.h"
#include "confine/seccomp.h"
#include "path_calls.h"

namespace confine::launch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often CPU usage is sampled at most while a CPU limit is set. The next sample is planned
// for when the budget could at the earliest run out (all cores busy), so an idle job costs
// nothing, and a busy one is caught within this much of its limit.
constexpr milliseconds kCpuPollFloor{20};


// `from + span`, saturating: a limit of 2562048 hours (2^63 ns) or more would overflow the clock's
// nanosecond count and land in the past, killing the job at once. Anything past a century is
// as good as no limit.
Clock::time_point deadline_after(Clock::time_point from, milliseconds span) {
  constexpr milliseconds kCentury = std::chrono::hours(24 * 365 * 100);
  return from + std::min(span, kCentury);  // compared in milliseconds: in nanoseconds it overflows
}

int send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

uint64_t cpu_usage_us(const cgroup::Leaf& leaf) { return leaf.read_key("cpu.stat", "usage_usec").value_or(0); }

// The value for `key` in a cgroup file already read: the end-of-job accounting reads each file
// once.
std::optional<uint64_t> key_in(const Expected<std::string>& text, std::string_view key) {
  return text ? cgroup::key_value(*text, key) : std::nullopt;
}

enum class Phase { kRunning, kTerminating, kKilled };

class Reaper {
 public:
  explicit Reaper(const ReaperInput& in) : in_(in) {
    if (in.plan.wall_time) wall_deadline_ = deadline_after(in.started, *in.plan.wall_time);
    if (in.plan.cpu_time && in.leaf) next_cpu_check_ = Clock::now() + kCpuPollFloor;
  }

  ReapResult run() {
    error_fd_open_ = in_.error_fd >= 0;
    notify_socket_open_ = in_.notify_socket >= 0;
    while (!exited_) {
      poll_once();
      enforce_limits();
    }
    collect();
    // What the job wrote before it ended still sits in its pipes.
    if (in_.relay != nullptr) {
      // A job confine ended (a limit, a cancel) gets no more time for its output than for its
      // own ending: the kill grace. A job that ended by itself gets a caller that reads slowly
      // (`| less`) as long as its wall-time limit lasts.
      if (phase_ != Phase::kRunning) {
        in_.relay->drain(deadline_after(Clock::now(), in_.plan.kill_grace));
      } else {
        std::optional<Clock::time_point> until;
        if (wall_deadline_) until = deadline_after(*wall_deadline_, in_.plan.kill_grace);
        in_.relay->drain(until);
      }
      // Output past the limit counts even when the job exited before confine could kill it.
      if (in_.relay->limit_exceeded()) result_.facts.output_limit = true;
    }
    // Only now, with the job gone: a write to the caller's stderr blocks while the pipe is full,
    // and the job itself may be the one filling it (a target flooding stderr, a caller that
    // reads it slowly or not at all). Logged during supervision, "time limit reached" would
    // block before the kill it announces, and the limit would never be enforced.
    for (const auto& [level, message] : deferred_logs_) spdlog::log(level, "{}", message);
    return std::move(result_);
  }

 private:
  void poll_once() {
    fds_.assign({{in_.pidfd, POLLIN, 0},
                 {in_.signal_fd, POLLIN, 0},
                 {error_fd_open_ ? in_.error_fd : -1, POLLIN, 0},
                 {notify_socket_open_ ? in_.notify_socket : -1, POLLIN, 0},
                 {listener_.get(), POLLIN, 0}});
    if (in_.relay != nullptr) in_.relay->poll_fds(fds_);
    int timeout = next_timeout_ms();
    int n = ::poll(fds_.data(), fds_.size(), timeout);
    if (n < 0 && errno != EINTR) {
      log_later(spdlog::level::err, std::string("poll: ") + std::strerror(errno));
      exited_ = true;  // cannot supervise: fall through to killing and collecting
      kill_everything();
      return;
    }
    if (n <= 0) return;
    if (fds_[2].revents != 0) read_error_record();
    if (fds_[3].revents != 0) receive_listener();
    if (fds_[4].revents & POLLIN) read_notifications();
    if (fds_[4].revents & (POLLHUP | POLLERR)) listener_.reset();  // no process uses the filter now
    if (fds_[1].revents & POLLIN) relay_signals();
    if (in_.relay != nullptr) in_.relay->on_poll(std::span<const pollfd>(fds_).subspan(kOwnFds));
    if (fds_[0].revents & POLLIN) exited_ = true;
  }

  int next_timeout_ms() const {
    auto now = Clock::now();
    std::optional<Clock::time_point> next;
    auto consider = [&](std::optional<Clock::time_point> t) {
      if (t && (!next || *t < *next)) next = t;
    };
    if (phase_ == Phase::kRunning) {
      consider(wall_deadline_);
      consider(next_cpu_check_);
    } else if (phase_ == Phase::kTerminating) {
      consider(kill_deadline_);
    }
    if (!next) return -1;
    auto ms = std::chrono::duration_cast<milliseconds>(*next - now).count();
    return static_cast<int>(std::clamp<long long>(ms + 1, 0, 60'000));
  }

  void read_error_record() {
    child::ErrorRecord record;
    ssize_t n;
    do {
      n = ::read(in_.error_fd, &record, sizeof record);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof record) && record.magic == child::ErrorRecord::kMagic) {
      result_.setup_failure = record;
      // Keep reading: EOF follows when the child exits.
      return;
    }
    // EOF (or garbage: the pipe is ours alone, so treat it as EOF): every write end is closed.
    // With no record, the target's execve succeeded and closed it.
    error_fd_open_ = false;
    if (!result_.setup_failure) result_.exec_at = Clock::now();
  }

  // The target sends its seccomp listener right after installing the filter (SCM_RIGHTS).
  void receive_listener() {
    char byte;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(in_.notify_socket, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    notify_socket_open_ = false;  // one message, or EOF: either way, done with the socket
    if (n <= 0) return;
    for (cmsghdr* h = CMSG_FIRSTHDR(&message); h != nullptr; h = CMSG_NXTHDR(&message, h)) {
      if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(h), sizeof fd);
        listener_.reset(fd);
      }
    }
  }

  // Notifications from the job's filter. Each is decided by the verdict program (the same rules
  // without notification, seccomp::evaluate): a kill is a violation (recorded, then the whole
  // job is killed: one job, one kill unit), an errno rule with `log` fails the call with its
  // errno and counts it, and an allowed call (exit_group, execve, a signal: anything that could
  // end a thread parked on a violation) continues once every notification already queued has
  // been read, so a violation can never be taken away by the job's own exit. In an audit
  // nothing is denied: every would-be denial is counted and continues.
  //
  // Every queued notification is received before the next one is looked at (watch() reads the
  // caller's memory and /proc, which takes a while). A job waiting on a notification nobody has
  // received yet is woken by any signal it handles, and the call fails with EINTR, even a fork()
  // or an open() that never fails so unwatched; once received, the filter's
  // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (child/privileges.cpp) lets only a fatal signal end
  // the wait. So the time a notification waits unreceived is kept to the reaper's wake-up.
  void read_notifications() {
    std::vector<std::pair<uint64_t, int>> answers;  // notification id, errno to fail it with (0: run it)
    std::deque<seccomp_notif> received;
    bool first = true;
    for (;;) {
      while (listener_) {
        if (!first) {
          pollfd more{listener_.get(), POLLIN, 0};
          if (::poll(&more, 1, 0) <= 0 || (more.revents & POLLIN) == 0) break;
        }
        first = false;
        auto notification = receive_notification();
        if (!notification) break;
        received.push_back(*notification);
        // Without watching, a notification is decided in a moment: the next poll comes after it.
        if (!in_.plan.watch_paths) break;
      }
      if (received.empty()) break;
      const seccomp_notif notification = received.front();
      received.pop_front();
      if (in_.plan.watch_paths) watch(notification);
      if (in_.plan.learn) {
        // Learning: everything the filter hands over is recorded (watch) and runs.
        answers.emplace_back(notification.id, 0);
        continue;
      }
      const uint32_t verdict = decide(notification);
      const uint32_t action = verdict & SECCOMP_RET_ACTION_FULL;
      if (action == SECCOMP_RET_ALLOW) {
        answers.emplace_back(notification.id, 0);
      } else if (action == SECCOMP_RET_ERRNO) {
        const int err = static_cast<int>(verdict & SECCOMP_RET_DATA);
        count_denial(notification, "errno", err);
        answers.emplace_back(notification.id, in_.plan.audit ? 0 : err);
      } else {
        // A kill (or anything the verdict program would not let run).
        count_denial(notification, "kill", 0);
        if (in_.plan.audit) {
          answers.emplace_back(notification.id, 0);
        } else {
          record_violation(notification);
        }
      }
    }
    if (result_.facts.seccomp_notified) {
      if (phase_ != Phase::kKilled) kill_everything();
      return;  // the threads waiting on an answer die with the job
    }
    for (const auto& [id, err] : answers) answer(id, err);
  }

  // A watched call (plan.watch_paths): the paths it names, read from the caller's memory and
  // resolved through /proc/PID, and, when learning, the call itself and its telling arguments.
  // The caller waits in the kernel meanwhile; it is answered with the rest (CONTINUE).
  void watch(const seccomp_notif& n) {
    const auto pid = static_cast<pid_t>(n.pid);
    const int nr = static_cast<int>(n.data.nr);
    uint64_t args[6];
    for (size_t i = 0; i < 6; ++i) args[i] = n.data.args[i];
    if (in_.plan.learn) learn_call(n, pid, nr);
    auto named = named_paths(pid, nr, args);
    const bool exec = nr == SYS_execve || nr == SYS_execveat;
    if (in_.plan.learn && exec) {
      exe_cache_.erase(pid);
      pending_maps_.insert(pid);
      // The sandbox's own exec of the target: run rootless, the child (not exec'd yet, so its
      // memory belongs to confine's user namespace, where it has no CAP_SYS_PTRACE) cannot be
      // read. The plan knows what it executes.
      if (!first_exec_seen_ && named.empty()) named.push_back({in_.plan.exec_path, learn::Access::kExec});
      first_exec_seen_ = true;
    }
    if (named.empty()) return;
    // The strings were read from memory the caller owns: if it is gone (killed, or its id
    // reused), what was read may be anything. SECCOMP_IOCTL_NOTIF_ID_VALID after the read says
    // the caller is still the one waiting (seccomp_unotify(2)).
    if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &n.id) != 0) return;
    for (auto& p : named) {
      if (is_provided(p.path)) continue;
      const bool inside = exists_in_root(pid, p.path);
      if (in_.plan.learn) {
        note_path(pid, p.path, p.access, inside);
      } else if (!inside && exists_on_host(p.path)) {
        note_audit_path(pid, p.path, p.access);
      }
    }
  }

  // Paths the sandbox makes itself: never a policy's business.
  static bool is_provided(const std::string& path) {
    for (const char* prefix : {"/proc", "/dev", "/sys"}) {
      const size_t n = std::strlen(prefix);
      if (path.compare(0, n, prefix) == 0 && (path.size() == n || path[n] == '/')) return true;
    }
    return false;
  }

  void learn_call(const seccomp_notif& n, pid_t pid, int nr) {
    auto& o = result_.learned;
    if (o.syscalls.size() < kMaxLearned) ++o.syscalls[seccomp::syscall_name(nr)];
    const uint64_t arg0 = n.data.args[0];
    if ((nr == SYS_socket || nr == SYS_socketpair) && o.socket_families.size() < kMaxLearned) {
      o.socket_families.insert(static_cast<int>(static_cast<uint32_t>(arg0)));
    }
    if (nr == SYS_ioctl && o.ioctl_requests.size() < kMaxLearned) {
      o.ioctl_requests.insert(static_cast<uint32_t>(n.data.args[1]));
    }
    if (nr == SYS_personality && o.personalities.size() < kMaxLearned) o.personalities.insert(arg0);
    // Open files, sampled (counting /proc/PID/fd costs a directory read): every 16th open, when
    // a process ends and when a program starts. A peak between two samples can be missed; the
    // writer's headroom covers that.
    const bool opening = nr == SYS_open || nr == SYS_openat || nr == SYS_openat2 || nr == SYS_creat;
    if ((opening && (++opens_seen_ % 16) == 0) || nr == SYS_exit_group || pending_maps_.count(pid) != 0) {
      if (auto open = open_descriptors(pid); open && (!o.open_files_peak || *open > *o.open_files_peak)) {
        o.open_files_peak = open;
      }
    }
    // The first call after an exec: the kernel has mapped the new binary and its ELF
    // interpreter (and the interpreter its libraries, by now or soon): no open shows those.
    if (pending_maps_.erase(pid) != 0) {
      exe_cache_.erase(pid);  // the caller is the new program now
      if (auto exe = executable_of(pid)) note_path(pid, *exe, learn::Access::kExec, true);
      if (auto interpreter = elf_interpreter(pid)) note_path(pid, *interpreter, learn::Access::kExec, true);
      for (const auto& file : mapped_files(pid)) note_path(pid, file, learn::Access::kMap, true);
    }
  }

  const std::string& executable(pid_t pid) {
    auto it = exe_cache_.find(pid);
    if (it == exe_cache_.end()) it = exe_cache_.emplace(pid, executable_of(pid).value_or("")).first;
    return it->second;
  }

  // A path learning saw. One that exists in the sandbox is recorded as the host reaches it: the
  // symlinks on the way, then the real path (the learning base shows host paths at the same
  // place, so the two agree).
  void note_path(pid_t pid, const std::string& path, learn::Access access, bool inside) {
    if (!inside) {
      note_one(pid, path, access, false, false, false);
      return;
    }
    const HostChain chain = host_chain(path);
    for (const auto& link : chain.links) note_one(pid, link, access, true, false, true);
    note_one(pid, chain.real, access, true, chain.directory, false);
  }

  void note_one(pid_t pid, const std::string& path, learn::Access access, bool inside, bool directory, bool symlink) {
    auto key = std::make_pair(path, static_cast<int>(access));
    auto it = path_index_.find(key);
    auto& paths = result_.learned.paths;
    if (it != path_index_.end()) {
      ++paths[it->second].count;
      return;
    }
    if (paths.size() >= kMaxLearnedPaths) return;  // bounded: a job walking a huge tree
    learn::PathRecord r;
    r.path = path;
    r.access = access;
    r.in_sandbox = inside;
    r.on_host = inside || exists_on_host(path);
    r.directory = directory;
    r.symlink = symlink;
    r.count = 1;
    r.first_pid = static_cast<int>(pid);
    r.by = executable(pid);
    path_index_.emplace(std::move(key), paths.size());
    paths.push_back(std::move(r));
  }

  void note_audit_path(pid_t pid, const std::string& path, learn::Access access) {
    const std::string operation = learn::to_string(access);
    for (auto& p : result_.audit_paths) {
      if (p.path == path && p.operation == operation) {
        ++p.count;
        return;
      }
    }
    if (result_.audit_paths.size() >= kMaxDenials) return;
    result_.audit_paths.push_back(report::AuditPath{path, operation, 1, static_cast<int>(pid)});
  }

  // What the filter would have done without notification (plan.seccomp_verdict).
  uint32_t decide(const seccomp_notif& n) const {
    if (!in_.plan.seccomp_verdict) return SECCOMP_RET_KILL_PROCESS;  // cannot decide: fail closed
    seccomp::FakeSyscall call;
    call.arch = n.data.arch;
    call.nr = n.data.nr;
    for (size_t i = 0; i < 6; ++i) call.args[i] = n.data.args[i];
    auto verdict = seccomp::evaluate(*in_.plan.seccomp_verdict, call);
    return verdict ? *verdict : SECCOMP_RET_KILL_PROCESS;
  }

  void count_denial(const seccomp_notif& n, const char* action, int err) {
    for (auto& d : result_.denials) {
      if (d.nr == static_cast<int>(n.data.nr) && d.action == action && d.errno_value == err) {
        ++d.count;
        return;
      }
    }
    if (result_.denials.size() >= kMaxDenials) return;  // bounded: a job calling every number
    report::Denial d;
    d.nr = static_cast<int>(n.data.nr);
    d.syscall = seccomp::syscall_name(d.nr);
    d.arch = n.data.arch == AUDIT_ARCH_X86_64 ? "x86_64" : std::to_string(n.data.arch);
    d.action = action;
    d.errno_value = err;
    d.count = 1;
    d.first_pid = static_cast<int>(n.pid);
    result_.denials.push_back(std::move(d));
  }

  std::optional<seccomp_notif> receive_notification() {
    std::vector<char> buffer(std::max<size_t>(notif_sizes().seccomp_notif, sizeof(seccomp_notif)), 0);
    if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, buffer.data()) < 0) {
      // ENOENT: the thread was gone before we read it. Anything else: the listener is unusable.
      if (errno != EINTR && errno != ENOENT) listener_.reset();
      return std::nullopt;
    }
    seccomp_notif notification;
    std::memcpy(&notification, buffer.data(), sizeof notification);
    return notification;
  }

  void record_violation(const seccomp_notif& n) {
    if (result_.seccomp_violation) return;
    report::SeccompViolation v;
    v.nr = n.data.nr;
    v.syscall = seccomp::syscall_name(n.data.nr);
    v.arch = n.data.arch == AUDIT_ARCH_X86_64 ? "x86_64" : std::to_string(n.data.arch);
    log_later(spdlog::level::info, "seccomp: the job called " + v.syscall + " (forbidden); killed it");
    result_.seccomp_violation = v;
    result_.facts.seccomp_notified = true;
  }

  // Answers a notification: with `err` 0 the call runs as if no filter had stopped it
  // (SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel executes it itself, with the caller's own
  // arguments), else it fails with that errno.
  void answer(uint64_t id, int err) {
    std::vector<char> buffer(std::max<size_t>(notif_sizes().seccomp_notif_resp, sizeof(seccomp_notif_resp)), 0);
    seccomp_notif_resp response{};
    response.id = id;
    if (err == 0) {
      response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
      response.error = -err;
    }
    std::memcpy(buffer.data(), &response, sizeof response);
    // ENOENT: the caller died meanwhile (killed with the job, or by a signal); nothing to answer.
    if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, buffer.data()) < 0 && errno != ENOENT && errno != EINTR) {
      log_later(spdlog::level::warn, std::string("seccomp: could not answer a notification: ") +
                                         std::strerror(errno) + "; ending the job");
      kill_everything();
    }
  }

  static const seccomp_notif_sizes& notif_sizes() {
    static const seccomp_notif_sizes sizes = [] {
      seccomp_notif_sizes s{};
      if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s) < 0) {
        s.seccomp_notif = sizeof(seccomp_notif);
        s.seccomp_notif_resp = sizeof(seccomp_notif_resp);
      }
      return s;
    }();
    return sizes;
  }

  void relay_signals() {
    signalfd_siginfo info;
    while (::read(in_.signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      const int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) continue;  // the pidfd tells us about the init
      // The caller's terminal changed size: so does the job's pty, and the job hears of it.
      if (sig == SIGWINCH && in_.relay != nullptr) in_.relay->resize_terminal();
      // The init forwards it to the target; the caller's Ctrl-C reaches the job as it would
      // reach an unsandboxed command.
      (void)send_signal(in_.pidfd, sig);
      log_later(spdlog::level::debug, "forwarded signal " + std::to_string(sig) + " to the sandbox");
      if (sig == SIGTERM || sig == SIGINT) cancel(sig);
    }
  }

  // SIGTERM or SIGINT to confine cancels the run, as timeout(1) -k and systemd's stop do: the job
  // got the signal (above) and has its kill grace to end; then every process of it is killed. A
  // second SIGINT (Ctrl-C again) kills at once. Without this a job that ignores SIGTERM would
  // run on until its wall-time limit, or forever without one.
  void cancel(int sig) {
    const bool again = result_.cancelled_by.has_value();
    if (!again) result_.cancelled_by = sig;
    if (phase_ == Phase::kKilled) return;
    if (again && sig == SIGINT) {
      log_later(spdlog::level::debug, "second SIGINT: killing the job now");
      kill_everything();
      return;
    }
    if (phase_ == Phase::kTerminating) return;  // a limit already started the grace
    phase_ = Phase::kTerminating;
    kill_deadline_ = deadline_after(Clock::now(), in_.plan.kill_grace);
    log_later(spdlog::level::debug, "cancelled: the job gets " + std::to_string(in_.plan.kill_grace.count()) +
                                        " ms to end, then SIGKILL");
    if (in_.plan.kill_grace.count() == 0) kill_everything();
  }

  void enforce_limits() {
    if (exited_) return;
    // Past limits.output the job is killed at once: it could not write anything more anyway.
    if (in_.relay != nullptr && in_.relay->limit_exceeded() && !result_.facts.output_limit) {
      result_.facts.output_limit = true;
      log_later(spdlog::level::info, "output limit reached; killed the job");
      if (phase_ != Phase::kKilled) kill_everything();
      return;
    }
    const auto now = Clock::now();
    if (phase_ == Phase::kRunning) {
      if (wall_deadline_ && now >= *wall_deadline_) {
        result_.facts.wall_timeout = true;
        terminate();
      } else if (next_cpu_check_ && now >= *next_cpu_check_) {
        const uint64_t used = cpu_usage_us(*in_.leaf);
        const auto limit_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(*in_.plan.cpu_time).count());
        if (used >= limit_us) {
          result_.facts.cpu_timeout = true;
          terminate();
        } else {
          // At most all cores can burn the remaining budget; check again no sooner than that.
          const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
          auto left = milliseconds((limit_us - used) / 1000 / static_cast<uint64_t>(cores));
          next_cpu_check_ = now + std::max(left, kCpuPollFloor);
        }
      }
    } else if (phase_ == Phase::kTerminating && kill_deadline_ && now >= *kill_deadline_) {
      kill_everything();
    }
  }

  // A limit was hit: SIGTERM to every process of the job (so a well-behaved converter can clean
  // up), then SIGKILL to everything once the grace period is over.
  void terminate() {
    log_later(spdlog::level::info, "time limit reached; terminated the job (grace " +
                                       std::to_string(in_.plan.kill_grace.count()) + " ms)");
    if (in_.leaf) {
      (void)in_.leaf->signal_all(SIGTERM);
    } else {
      (void)send_signal(in_.pidfd, SIGTERM);  // the init forwards it to the target
    }
    phase_ = Phase::kTerminating;
    kill_deadline_ = deadline_after(Clock::now(), in_.plan.kill_grace);
    if (in_.plan.kill_grace.count() == 0) kill_everything();
  }

  void kill_everything() {
    // cgroup.kill reaches every process in the job at once, double-forked daemons, setsid'd and
    // stopped ones included; SIGKILL to the init ends its pid namespace, which covers the case
    // without a cgroup.
    if (in_.leaf) (void)in_.leaf->kill();
    (void)send_signal(in_.pidfd, in_.kill_signal);
    // Landlock mode: an init the job stopped (it may signal it below Landlock ABI 6) must run to act on it.
    if (in_.kill_signal != SIGKILL) (void)send_signal(in_.pidfd, SIGCONT);
    phase_ = Phase::kKilled;
  }

  void collect() {
    siginfo_t info{};
    rusage usage{};
    // waitid on the pidfd, with rusage: without a cgroup the children's times are the fallback.
    (void)::syscall(SYS_waitid, P_PIDFD, in_.pidfd, &info, WEXITED, &usage);
    // Drain the error pipe: a failure record may still be queued.
    while (error_fd_open_) read_error_record();

    int status = 0;
    ssize_t n;
    do {
      n = ::read(in_.status_fd, &status, sizeof status);
    } while (n < 0 && errno == EINTR);
    auto& f = result_.facts;
    if (n == static_cast<ssize_t>(sizeof status)) {
      if (WIFEXITED(status)) f.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) {
        f.term_signal = WTERMSIG(status);
        f.core_dumped = WCOREDUMP(status);
      }
    } else if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
      // The init itself was killed (our SIGKILL after a timeout, or an OOM kill of the whole
      // group): the target died with it, by SIGKILL.
      if (result_.exec_at) f.term_signal = info.si_status;
    }
    if (result_.setup_failure) {
      if (result_.setup_failure->step == child::Step::kExec) {
        f.exec_errno = result_.setup_failure->sys_errno;
      } else {
        f.setup_failed = true;
      }
    } else if (!result_.exec_at) {
      f.setup_failed = true;  // the child died before exec without saying why
    }

    if (in_.leaf) {
      const cgroup::Leaf& leaf = *in_.leaf;
      // Each file read once (it was three reads of cpu.stat and two of memory.events).
      const auto cpu = leaf.read("cpu.stat");
      const auto memory_events = leaf.read("memory.events");
      result_.cpu_user_us = key_in(cpu, "user_usec").value_or(0);
      result_.cpu_system_us = key_in(cpu, "system_usec").value_or(0);
      result_.memory_peak_bytes = leaf.read_number("memory.peak");
      result_.pids_peak = leaf.read_number("pids.peak");
      result_.counters.oom_kills = key_in(memory_events, "oom_kill").value_or(0);
      result_.counters.oom_group_kills = key_in(memory_events, "oom_group_kill").value_or(0);
      result_.counters.pids_max_hits = leaf.read_key("pids.events", "max").value_or(0);
      result_.counters.cpu_throttled_us = key_in(cpu, "throttled_usec").value_or(0);
    } else {
      auto us = [](const timeval& tv) {
        return static_cast<uint64_t>(tv.tv_sec) * 1'000'000 + static_cast<uint64_t>(tv.tv_usec);
      };
      result_.cpu_user_us = us(usage.ru_utime);
      result_.cpu_system_us = us(usage.ru_stime);
    }
    f.oom_kills = result_.counters.oom_kills;
    f.oom_group_kills = result_.counters.oom_group_kills;
    f.pids_max_hits = result_.counters.pids_max_hits;
  }

  // Messages for the caller's stderr, written once the job has ended (see run()).
  void log_later(spdlog::level::level_enum level, std::string message) {
    // Bounded: a caller sending signals in a loop must not grow confine's memory.
    if (spdlog::should_log(level) && deferred_logs_.size() < 64) deferred_logs_.emplace_back(level, std::move(message));
  }

  static constexpr size_t kMaxDenials = 256;
  static constexpr size_t kMaxLearned = 4096;
  static constexpr size_t kMaxLearnedPaths = 100000;
  std::map<std::pair<std::string, int>, size_t> path_index_;  // learned path, access -> index
  std::map<pid_t, std::string> exe_cache_;                     // caller -> its executable
  std::set<pid_t> pending_maps_;                               // exec'd; maps not read yet
  bool first_exec_seen_ = false;  // the sandbox's own exec of the target
  uint64_t opens_seen_ = 0;       // learning: opens notified, for sampling the open-file peak
  static constexpr size_t kOwnFds = 5;  // pidfd, signals, errors, notify socket, listener; then the relay's
  const ReaperInput& in_;
  std::vector<pollfd> fds_;
  ReapResult result_;
  std::vector<std::pair<spdlog::level::level_enum, std::string>> deferred_logs_;
  UniqueFd listener_;
  bool notify_socket_open_ = false;
  bool exited_ = false;
  bool error_fd_open_ = false;
  Phase phase_ = Phase::kRunning;
  std::optional<Clock::time_point> wall_deadline_;
  std::optional<Clock::time_point> next_cpu_check_;
  std::optional<Clock::time_point> kill_deadline_;
};

}  // namespace

ReapResult reap_job(const ReaperInput& input) { return Reaper(input).run(); }

}  // namespace confine::launch
