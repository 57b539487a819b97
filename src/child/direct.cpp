// The child in Landlock mode (docs/security.md, "Landlock mode"): the job's init and target on
// the host itself, with no namespace at all.
//
// Nothing is mounted and no id is mapped. What walls the job in is applied by the target to
// itself before execve: Landlock rules on the host's own paths (the plan's DirectRule list),
// run by root a switch to an unprivileged uid, no capabilities, no_new_privs, rlimits, a new
// session, and the seccomp filter last. The init stays outside the target's Landlock domain, so
// with Landlock ABI 6 the job can signal neither it nor confine.
//
// There is no pid namespace whose end takes every process with it, so the init does that job
// itself: it is a child subreaper (PR_SET_CHILD_SUBREAPER), every orphan of the job is
// re-parented to it, and when the target ends, when confine's reaper asks (kDirectKillSignal)
// or when confine dies (the same signal, as the parent-death signal; or its pipe's end) it
// kills its children, reaps them, and repeats until none is left. Its children's pids cannot
// be reused before it reaps them, so no signal ever reaches a stranger.
//
// Only syscalls, as in init.cpp (STYLE.md): no allocation, no exceptions, no logging.
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "confine/child.h"
#include "fds.h"
#include "landlock.h"
#include "privileges.h"
#include "report.h"
#include "sys.h"

namespace confine::child {
namespace {

// The caller's signals the target should see, as init.cpp forwards them.
constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
constexpr int kCapKill = 5;  // CAP_KILL (linux/capability.h)

// The Landlock ruleset on the host's paths, filled and returned (not yet enforced). Each path is
// opened without following any symlink (the plan refused paths through one; one swapped in
// since fails here instead of moving the rule), and the rule goes on that very inode.
int open_direct_rules(const Image& image) noexcept {
  const int err = image.error_fd;
  // The plan never makes a Landlock-mode image without Landlock: without it there is no wall.
  if (image.landlock.abi <= 0) die(err, Step::kLandlockRuleset, 0, ENOSYS);
  const int ruleset = landlock_create(image);
  for (size_t i = 0; i < image.direct_rule_count; ++i) {
    const DirectRule& rule = image.direct_rules[i];
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const int fd = sys::openat2(AT_FDCWD, rule.path, &how);
    if (fd < 0) {
      // A path listed while planning (a sibling of a denied one) may be gone: nothing to allow.
      if (rule.optional && errno == ENOENT) continue;
      die(err, Step::kLandlockRule, static_cast<int>(i), errno);
    }
    landlock_allow(image, ruleset, fd, rule.access, static_cast<int>(i));
    ::close(fd);
  }
  return ruleset;
}

// The target, after the fork: every wall of this mode, then execve. Never returns.
[[noreturn]] void become_target(const Image& image) noexcept {
  stamp(image, Mark::kForked);
  const int err = image.error_fd;
  // A session of its own: no controlling terminal (TIOCSTI, CVE-2017-5226), and the job's
  // process group, which the init can signal as one.
  CONFINE_CHECK(::setsid(), err, Step::kSetsid, 0);
  // The job runs on every CPU the caller allowed, not on the one setup was kept on.
  if (image.affinity != nullptr) {
    CONFINE_CHECK(::sched_setaffinity(0, image.affinity_size, image.affinity), err, Step::kAffinity, 0);
  }
  // Opened with confine's own rights to search the paths, as the namespace mode opens its bind
  // sources; what the job may then do there is the rule's and the job uid's to decide.
  const int ruleset = open_direct_rules(image);

  // Before the rlimits: RLIMIT_NOFILE may come down below the handoff descriptor.
  move_listener_handoff(image);
  for (size_t i = 0; i < image.rlimit_count; ++i) {
    rlimit64 limit{image.rlimits[i].soft, image.rlimits[i].hard};
    CONFINE_CHECK(::prlimit64(0, static_cast<__rlimit_resource>(image.rlimits[i].resource), &limit, nullptr), err,
                  Step::kRlimit, static_cast<int>(i));
  }

  if (image.switch_ids) {
    // Run by root: the bounding set goes while CAP_SETPCAP is still held, so no later exec can
    // gain a capability from a file; then no groups (root's would open group-readable files),
    // and the job's unprivileged ids, all three of each, so it can never switch back.
    for (int cap = 0; cap <= image.cap_last; ++cap) {
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) die(err, Step::kBoundingSet, cap, errno);
    }
    CONFINE_CHECK(::syscall(SYS_setgroups, 0, nullptr), err, Step::kSetIds, 0);
    CONFINE_CHECK(::setresgid(image.gid, image.gid, image.gid), err, Step::kSetIds, 1);
    CONFINE_CHECK(::setresuid(image.uid, image.uid, image.uid), err, Step::kSetIds, 2);
  }
  // No capability in any set: setresuid already cleared them for root, and a caller with ambient
  // or inheritable ones (a service with AmbientCapabilities=) must not pass them on. Lowering
  // needs no privilege. A rootless bounding set stays (dropping takes CAP_SETPCAP): with
  // no_new_privs below, no exec can raise anything from it.
  CONFINE_CHECK(set_capabilities(0, 0, 0), err, Step::kCapabilities, 0);
  CONFINE_CHECK(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), err, Step::kCapabilities, 1);
  // Dies with the init (a clone child never inherits the parent-death signal, and the ids change
  // would clear it anyway; prctl(2)): if the job kills the init, the target does not run on
  // unsupervised. Its own children are the init's to kill.
  CONFINE_CHECK(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), err, Step::kDeathSignal, 2);

  // No root to be inside in this mode: the policy's cwd, as the host shows it.
  CONFINE_CHECK(::chdir(image.cwd), err, Step::kChdir, 0);
  // Nothing of confine's beyond stdio reaches the job. CLOSE_RANGE_CLOEXEC rather than closing
  // now keeps error_fd usable until execve.
  CONFINE_CHECK(sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC), err, Step::kCloseFds, 0);
  reset_signal_dispositions(image.reset_signals);  // what the caller ignored does not leak in
  sigset_t none;
  sys::signals_clear(none);
  CONFINE_CHECK(sys::signal_mask(SIG_SETMASK, &none), err, Step::kSignalMask, 0);

  // no_new_privs: no setuid binary or file capability ever raises privileges again, and it is
  // what lets an unprivileged process restrict itself with Landlock and seccomp.
  CONFINE_CHECK(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), err, Step::kNoNewPrivs, 0);
  // Landlock last but the filter: from here the job opens only what the rules allow, and (ABI
  // 6) signals only its own domain, which the init, confine and the caller are not in.
  landlock_enforce(image, ruleset);
  stamp(image, Mark::kTargetPrivilegesDropped);
  install_seccomp(image);
  stamp(image, Mark::kFilterInstalled);
  ::execve(image.exec_path, image.argv, image.envp);
  die(err, Step::kExec, 0, errno);
}

alignas(64) char target_stack[256 * 1024];

int target_entry(void* image) { become_target(*static_cast<const Image*>(image)); }

// Sends SIGKILL to every child of this process listed in /proc/thread-self/children. Returns
// false when that file cannot be read (no /proc).
bool kill_children() noexcept {
  const int fd = ::open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[4096];
  long pid = 0;
  bool in_number = false;
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buffer[i];
      if (c >= '0' && c <= '9') {
        pid = pid * 10 + (c - '0');
        in_number = true;
      } else if (in_number) {
        (void)::kill(static_cast<pid_t>(pid), SIGKILL);
        pid = 0;
        in_number = false;
      }
    }
  }
  if (in_number) (void)::kill(static_cast<pid_t>(pid), SIGKILL);
  ::close(fd);
  return true;
}

void report_status(const Image& kept, int status) noexcept {
  stamp(kept, Mark::kTargetExited);
  ssize_t ignored = ::write(kept.status_fd, &status, sizeof status);
  (void)ignored;
}

// Kills everything below this init and reaps it, reporting the target's status if it is among
// them, then exits. The target's process group goes first in one call (while the target is not
// reaped); the children list
// catches what left it (setsid, setpgid); a child killed while it forked leaves its new child to
// us, so repeat until there is no child at all.
[[noreturn]] void end_job(const Image& kept, pid_t target, bool target_reported) noexcept {
  // Only while the target is unreaped: its pid (and so its group's id) cannot be reused until then.
  if (!target_reported) (void)::kill(-target, SIGKILL);
  while (true) {
    (void)kill_children();
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, __WALL);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;  // ECHILD: nothing is left
    if (pid == target && !target_reported) {
      report_status(kept, status);
      target_reported = true;
    }
  }
  ::_exit(0);
}

// The init's life after the fork: forward the caller's signals, reap orphans, and end the whole
// job when the target ends, when asked, or when confine is gone.
[[noreturn]] void supervise(const Image& kept, pid_t target, int signal_fd) noexcept {
  while (true) {
    // The status pipe's write end reports POLLERR once confine's read end is closed: confine died.
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {kept.status_fd, 0, 0}};
    if (::poll(fds, 2, -1) < 0) continue;  // EINTR
    if ((fds[1].revents & (POLLERR | POLLHUP)) != 0) end_job(kept, target, false);
    if ((fds[0].revents & POLLIN) == 0) continue;
    signalfd_siginfo info{};
    if (::read(signal_fd, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
    const int sig = static_cast<int>(info.ssi_signo);
    if (sig == kDirectKillSignal) end_job(kept, target, false);
    if (sig != SIGCHLD) {
      (void)::kill(target, sig);
      continue;
    }
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
      if (pid == target) {
        report_status(kept, status);
        // What the target left behind (daemons, double forks) ends with it, as a pid namespace
        // would end it.
        end_job(kept, target, true);
      }
    }
  }
}

}  // namespace

void run_direct(const Image& image) noexcept {
  const int err = image.error_fd;
  stamp(image, Mark::kStarted);
  // confine's death reaches the init as kDirectKillSignal, not SIGKILL: the init must live long
  // enough to kill the job, which no namespace will do for it.
  CONFINE_CHECK(::prctl(PR_SET_PDEATHSIG, kDirectKillSignal, 0, 0, 0), err, Step::kDeathSignal, 0);
  // The job's stdio at 0, 1 and 2 and every other fd closed, before waiting (init.cpp says why).
  for (int n = 0; n < 3; ++n) {
    if (image.stdio[n] >= 0 && image.stdio[n] != n) CONFINE_CHECK(::dup2(image.stdio[n], n), err, Step::kStdio, n);
  }
  int keep[] = {0, 1, 2, image.sync_fd, image.error_fd, image.status_fd, image.notify_fd, image.output_fd};
  constexpr int kKeep = sizeof keep / sizeof keep[0];
  sort_small(keep, kKeep);
  int first = 0;  // the optional channels (-1 when unused) sort first: skip them all
  while (first < kKeep && keep[first] < 0) ++first;
  CONFINE_CHECK(close_other_fds(keep + first, kKeep - first), err, Step::kCloseFds, 0);
  // The parent's go (it moved us into the job's cgroup first when clone3 could not); end of file
  // means it died before the death signal was armed.
  char go = 0;
  ssize_t got;
  do {
    got = ::read(image.sync_fd, &go, 1);
  } while (got < 0 && errno == EINTR);
  if (got != 1) ::_exit(kSetupFailedExit);
  ::close(image.sync_fd);
  stamp(image, Mark::kParentReady);

  // Every orphan of the job comes to this process instead of the host's init: the whole job
  // stays below it, where it can be killed without a pid namespace.
  CONFINE_CHECK(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), err, Step::kSubreaper, 0);
  sigset_t signals;
  sys::signals_clear(signals);
  sys::signals_add(signals, SIGCHLD);
  sys::signals_add(signals, kDirectKillSignal);
  for (int sig : kForwarded) sys::signals_add(signals, sig);
  CONFINE_CHECK(sys::signal_mask(SIG_BLOCK, &signals), err, Step::kSignalMask, 0);
  const int signal_fd = ::signalfd(-1, &signals, SFD_CLOEXEC);
  CONFINE_CHECK(signal_fd, err, Step::kSignalMask, 1);
  // The job runs with the caller's uid (rootless): not dumpable, so it cannot open this
  // process's memory or fds (its status pipe) through /proc.
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  stamp(image, Mark::kPrivilegesDropped);

  // The target shares this memory until its execve, as in init.cpp.
  const int pid = ::clone(target_entry, target_stack + sizeof(target_stack), CLONE_VM | CLONE_VFORK | SIGCHLD,
                          const_cast<Image*>(&image));
  CONFINE_CHECK(pid, err, Step::kFork, 0);
  // The init keeps no write end of the error pipe: end-of-file now means the target exec'd.
  ::close(image.error_fd);
  // Nor the job's stdio: the relay sees end-of-file once the job's own processes are gone.
  (void)sys::close_range(0, 2, 0);
  if (image.notify_fd >= 0) ::close(image.notify_fd);
  // The init keeps only what ending the job takes: run by root, CAP_KILL (the job runs as
  // another uid); otherwise nothing, the job being its own uid.
  const uint64_t kill_only = image.switch_ids ? uint64_t{1} << kCapKill : 0;
  (void)set_capabilities(kill_only, kill_only, 0);
  (void)::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  // What supervision needs, copied out of the image before the mapping holding it goes (the
  // init gives back its copy of confine's memory while the job runs).
  Image kept{};
  kept.status_fd = image.status_fd;
  kept.marks = image.marks;
  if (image.release_bytes > 0) (void)::munmap(reinterpret_cast<void*>(image.release_begin), image.release_bytes);
  supervise(kept, static_cast<pid_t>(pid), signal_fd);
}

}  // namespace confine::child
