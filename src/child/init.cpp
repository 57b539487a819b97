// The child after clone: pid 1 of the sandbox's pid namespace.
//
// It sets up what the whole sandbox shares (mounts, hostname, loopback), forks the target, drops
// its own privileges, and then stays as a minimal init: it reaps orphans, forwards the caller's
// signals to the target, and when the target ends it reports the wait status to the parent and
// exits, which makes the kernel kill everything else left in the namespace.
//
// Only syscalls from here on (STYLE.md): no allocation, no exceptions, no logging. A failure is
// one ErrorRecord on error_fd, then _exit.
#include <fcntl.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <cstring>

#include "confine/child.h"
#include "fds.h"
#include "filesystem.h"
#include "landlock.h"
#include "privileges.h"
#include "report.h"
#include "sys.h"

namespace confine::child {
namespace {

// Signals the caller's terminal or service may send that the target should see. SIGCHLD is
// the init's own. Everything else sent from outside is either SIGKILL (which always works) or
// ignored, as for any pid-namespace init.
constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

void bring_up_loopback(int err) noexcept {
  // An empty network namespace has a loopback device, but it is down. Bringing it up lets the
  // target use 127.0.0.1 among its own processes; nothing else is reachable.
  int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CONFINE_CHECK(sock, err, Step::kLoopback, 0);
  ifreq request{};
  std::memcpy(request.ifr_name, "lo", 3);
  CONFINE_CHECK(::ioctl(sock, SIOCGIFFLAGS, &request), err, Step::kLoopback, 1);
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
  CONFINE_CHECK(::ioctl(sock, SIOCSIFFLAGS, &request), err, Step::kLoopback, 2);
  ::close(sock);
}

// The directory is opened while the host's /proc is still there; the values are written once
// the new root is built (a zero mount-namespace limit in force during the build fails its
// mounts with ENOSPC), through that one descriptor, which keeps the old /proc reachable for
// this only. Returns -1 when there is nothing to write.
int open_ucount_limits(const Image& image) noexcept {
  if (image.sysctl_count == 0) return -1;
  const int dir = ::open("/proc/sys/user", O_PATH | O_DIRECTORY | O_CLOEXEC);
  CONFINE_CHECK(dir, image.error_fd, Step::kUcounts, 0);
  return dir;
}

void write_ucount_limits(const Image& image, int dir) noexcept {
  for (size_t i = 0; i < image.sysctl_count; ++i) {
    const Sysctl& limit = image.sysctls[i];
    const int fd = ::openat(dir, limit.path, O_WRONLY | O_CLOEXEC);
    CONFINE_CHECK(fd, image.error_fd, Step::kUcounts, static_cast<int>(i));
    const ssize_t n = ::write(fd, limit.value, limit.value_len);
    const int saved = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(limit.value_len)) die(image.error_fd, Step::kUcounts, static_cast<int>(i), n < 0 ? saved : EIO);
  }
  if (dir >= 0) ::close(dir);
}

// The target, after fork: per-process steps, then execve. Never returns.
[[noreturn]] void become_target(const Image& image) noexcept {
  stamp(image, Mark::kForked);
  const int err = image.error_fd;
  // A new session, so the target has no controlling terminal: TIOCSTI cannot push keystrokes
  // into the caller's shell (CVE-2017-5226, bubblewrap's --new-session). The seccomp filter
  // also denies TIOCSTI; this closes it even when seccomp is best-effort and unavailable.
  CONFINE_CHECK(::setsid(), err, Step::kSetsid, 0);
  // The job runs on every CPU the caller allowed, not on the one setup was kept on.
  if (image.affinity != nullptr) {
    CONFINE_CHECK(::sched_setaffinity(0, image.affinity_size, image.affinity), err, Step::kAffinity, 0);
  }

  // Before the rlimits: RLIMIT_NOFILE may come down below the handoff descriptor.
  move_listener_handoff(image);
  for (size_t i = 0; i < image.rlimit_count; ++i) {
    rlimit64 limit{image.rlimits[i].soft, image.rlimits[i].hard};
    CONFINE_CHECK(::prlimit64(0, static_cast<__rlimit_resource>(image.rlimits[i].resource), &limit, nullptr), err,
                  Step::kRlimit, static_cast<int>(i));
  }
  // After pivot_root every path resolves inside the new root, so the working directory cannot
  // be outside it.
  CONFINE_CHECK(::chdir(image.cwd), err, Step::kChdir, 0);

  // stdin, stdout and stderr are the caller's; every other fd (error_fd included) closes at
  // exec. CLOSE_RANGE_CLOEXEC rather than closing now keeps error_fd usable until execve.
  CONFINE_CHECK(sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC), err, Step::kCloseFds, 0);

  // Capabilities, securebits and no_new_privs came with the clone: the init dropped them to
  // exactly the target's before forking it (below, in run()).

  // Default signal dispositions and an empty mask: the init's blocked set and whatever the
  // caller ignored (a service often ignores SIGPIPE) must not leak into the target. Only the
  // signals the parent had ignored or caught (Image::reset_signals): the others are SIG_DFL.
  reset_signal_dispositions(image.reset_signals);
  sigset_t none;
  sys::signals_clear(none);
  CONFINE_CHECK(sys::signal_mask(SIG_SETMASK, &none), err, Step::kSignalMask, 0);

  stamp(image, Mark::kTargetPrivilegesDropped);
  install_seccomp(image);
  stamp(image, Mark::kFilterInstalled);
  ::execve(image.exec_path, image.argv, image.envp);
  die(err, Step::kExec, 0, errno);
}

// The target's stack while it shares the init's memory (see the clone in run()).
alignas(64) char target_stack[256 * 1024];

int target_entry(void* image) { become_target(*static_cast<const Image*>(image)); }

// The init's life after the fork: relay signals, reap, report the target's status, exit.
[[noreturn]] void supervise(const Image& image, pid_t target, const sigset_t& signals) noexcept {
  while (true) {
    siginfo_t info;
    int sig = sys::signal_wait(signals, &info);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      (void)::kill(target, sig);
      continue;
    }
    int status = 0;
    pid_t pid;
    // Reap every exited child: orphans re-parented to us included, so no zombie piles up.
    while ((pid = ::waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
      if (pid == target) {
        stamp(image, Mark::kTargetExited);
        ssize_t ignored = ::write(image.status_fd, &status, sizeof(status));
        (void)ignored;
        // Exiting as pid 1 makes the kernel SIGKILL every other process in the namespace:
        // daemons the target left behind do not outlive it.
        ::_exit(0);
      }
    }
  }
}

}  // namespace

void stamp(const Image& image, Mark mark) noexcept {
  if (image.marks == nullptr) return;
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  image.marks[static_cast<size_t>(mark)] =
      static_cast<uint64_t>(now.tv_sec) * 1'000'000'000U + static_cast<uint64_t>(now.tv_nsec);
}

void run(const Image& image) noexcept {
  const int err = image.error_fd;
  stamp(image, Mark::kStarted);

  // Die with confine: if the parent is killed (even with SIGKILL) the kernel kills us, and our
  // exit as pid 1 takes the whole namespace down.
  CONFINE_CHECK(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), err, Step::kDeathSignal, 0);
  // Every fd we do not use goes before we wait on the sync pipe, its write end above all: the
  // clone copied it, and while we hold it the read below never sees end-of-file. A parent
  // SIGKILLed between clone3 and the prctl above (no death signal for us then) would leave us
  // blocked there forever, an orphan holding the caller's stdout and stderr open.
  // notify_fd may be -1; sorted first, it is then skipped by close_other_fds' gap logic.
  // The job's stdio goes to 0, 1 and 2 before anything else: from here on no process of the
  // sandbox holds the caller's descriptions (a job holding them could reopen /proc/self/fd/1
  // and read what the caller's file held, or change the caller's terminal). dup2 clears
  // close-on-exec on the copy, so the target inherits them as they are.
  for (int n = 0; n < 3; ++n) {
    if (image.stdio[n] >= 0 && image.stdio[n] != n) CONFINE_CHECK(::dup2(image.stdio[n], n), err, Step::kStdio, n);
  }
  int keep[] = {0, 1, 2, image.sync_fd, image.error_fd, image.status_fd, image.notify_fd, image.output_fd};
  constexpr int kKeep = sizeof keep / sizeof keep[0];
  sort_small(keep, kKeep);
  int first = 0;  // the optional channels (-1 when unused) sort first: skip them
  while (first < kKeep && keep[first] < 0) ++first;
  CONFINE_CHECK(close_other_fds(keep + first, kKeep - first), err, Step::kCloseFds, 0);
  // Wait for the parent to write the id maps. If it died before PDEATHSIG was armed, its end of
  // the pipe (now the only one) is closed and read returns 0: exit instead of running
  // unsupervised.
  char go = 0;
  ssize_t got;
  do {
    got = ::read(image.sync_fd, &go, 1);
  } while (got < 0 && errno == EINTR);
  if (got != 1) ::_exit(kSetupFailedExit);
  ::close(image.sync_fd);

  // Private propagation, recursively, before any mount: our namespace is a copy of the host's,
  // and a mount under a shared host mount would otherwise propagate back to the host.
  CONFINE_CHECK(sys::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), err, Step::kPropagation, 0);

  static Trees trees;  // large: static storage in this private copy of the parent's memory
  stamp(image, Mark::kParentReady);
  open_sources(image, trees);
  stamp(image, Mark::kSourcesOpened);
  switch_ids(image);
  stamp(image, Mark::kIdsSwitched);
  // Changing the effective ids clears the parent-death signal (prctl(2)): run by root, the
  // host-side uid just went from 0 to an unprivileged one. Arm it again, then make sure the
  // parent did not die in between: its read end of the status pipe closes with it, which
  // poll reports as POLLERR on our write end.
  CONFINE_CHECK(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), err, Step::kDeathSignal, 1);
  pollfd parent_alive{image.status_fd, POLLOUT, 0};
  if (::poll(&parent_alive, 1, 0) < 0 || (parent_alive.revents & (POLLERR | POLLHUP)) != 0) {
    ::_exit(kSetupFailedExit);
  }
  // The job's own limits on per-user kernel resources (launch/owner.h): no nested namespaces, no
  // fanotify, a few inotify instances. They belong to this user namespace, and writing them
  // takes CAP_SYS_RESOURCE in it, which only this init holds, and only until it drops its
  // privileges below. Opened through the host's /proc here (the limits are looked up by the
  // writer's user namespace, not by the procfs instance, and the job may have no /proc at all),
  // written after the root is built.
  const int ucount_dir = open_ucount_limits(image);
  trees.output = -1;
  build_root(image, trees);
  write_ucount_limits(image, ucount_dir);
  // The output area's mount goes to the parent now, before anything of the job runs.
  send_output_area(image, trees);
  stamp(image, Mark::kRootBuilt);

  if (image.hostname_len > 0) {
    CONFINE_CHECK(::sethostname(image.hostname, image.hostname_len), err, Step::kHostname, 0);
  }
  if (image.new_net) bring_up_loopback(err);
  stamp(image, Mark::kNetworkUp);

  // Block the signals the init handles before forking, so none is lost between the fork and
  // the first sigwaitinfo; the target resets its mask before exec.
  sigset_t signals;
  sys::signals_clear(signals);
  sys::signals_add(signals, SIGCHLD);
  for (int sig : kForwarded) sys::signals_add(signals, sig);
  CONFINE_CHECK(sys::signal_mask(SIG_BLOCK, &signals), err, Step::kSignalMask, 0);

  // Not dumpable from before the target exists: once the target execs it runs untrusted code
  // with the init's uid, and a dumpable init would let it open /proc/1/mem or /proc/1/fd (the
  // status pipe the report trusts) in the moments before the init drops its privileges below.
  // The flag belongs to the memory the target shares until its execve, which resets it for the
  // target's own new image.
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  // The target's privileges, applied here, in the init, before the target exists: the target
  // inherits them across the clone (credentials, securebits, the bounding set and
  // no_new_privs all are), and from the first instruction of untrusted code the init holds
  // no more than the job. Dropped in the target instead, the init kept every capability of
  // the namespace until the scheduler ran it again after the target's execve; on a busy
  // machine the target ran first and read a full CapEff from /proc/1/status. Nothing the init
  // does from here on needs a capability: cloning, waiting, and signalling its own uid.
  drop_privileges(image, image.keep_caps);
  // Landlock: the second wall. Here because it needs no_new_privs (just set) and every mount
  // done (a restricted process may change none), and before the fork so the init and the whole
  // job share its domain. Without it a host tree mounted by mistake, or a host directory fd the
  // job receives, would be open to the job (landlock.cpp).
  landlock_enforce(image, trees.landlock);
  stamp(image, Mark::kPrivilegesDropped);

  // The target shares the init's memory until its execve (CLONE_VM|CLONE_VFORK, as
  // posix_spawn does): no page tables are copied for a process that is about to replace its
  // image anyway, which saved about half a millisecond per launch here. The init is suspended
  // meanwhile, so nothing races. The target runs on its own stack, writes only there and in
  // the marks page, and shares no fd table or signal handlers (no CLONE_FILES/CLONE_SIGHAND).
  // glibc's clone() wrapper, not fork(): no atfork handlers, which may take locks.
  const int pid = ::clone(target_entry, target_stack + sizeof(target_stack), CLONE_VM | CLONE_VFORK | SIGCHLD,
                          const_cast<Image*>(&image));
  CONFINE_CHECK(pid, err, Step::kFork, 0);

  // The init keeps no write end of the error pipe: end-of-file now means the target exec'd.
  ::close(image.error_fd);
  // Nor the job's stdio: the relay sees end-of-file once the job's own processes are gone.
  (void)sys::close_range(0, 2, 0);
  if (image.notify_fd >= 0) ::close(image.notify_fd);
  // The init runs beside untrusted code with its uid: not dumpable and with the job's own
  // privileges (above), and now not even the capabilities the policy kept for the job.
  drop_remaining_capabilities();
  // What supervision needs, copied out of the image before the mapping holding it goes.
  Image kept{};
  kept.status_fd = image.status_fd;
  kept.marks = image.marks;
  if (image.release_bytes > 0) (void)::munmap(reinterpret_cast<void*>(image.release_begin), image.release_bytes);
  supervise(kept, static_cast<pid_t>(pid), signals);
}

const char* step_name(Step step) noexcept {
  switch (step) {
    case Step::kDeathSignal: return "death_signal";
    case Step::kWaitParent: return "wait_parent";
    case Step::kPropagation: return "mount_propagation";
    case Step::kOpenTree: return "open_tree";
    case Step::kSetIds: return "set_ids";
    case Step::kRootTmpfs: return "root_tmpfs";
    case Step::kMountpoint: return "mountpoint";
    case Step::kMount: return "mount";
    case Step::kMountAttr: return "mount_setattr";
    case Step::kSymlink: return "symlink";
    case Step::kProc: return "proc";
    case Step::kDev: return "dev";
    case Step::kRootReadOnly: return "root_read_only";
    case Step::kPivotRoot: return "pivot_root";
    case Step::kHostname: return "hostname";
    case Step::kLoopback: return "loopback";
    case Step::kFork: return "fork";
    case Step::kSetsid: return "setsid";
    case Step::kDevNode: return "dev_node";
    case Step::kRlimit: return "rlimit";
    case Step::kChdir: return "chdir";
    case Step::kCloseFds: return "close_fds";
    case Step::kSecurebits: return "securebits";
    case Step::kBoundingSet: return "bounding_set";
    case Step::kCapabilities: return "capabilities";
    case Step::kNoNewPrivs: return "no_new_privs";
    case Step::kSeccomp: return "seccomp";
    case Step::kSignalMask: return "signal_mask";
    case Step::kAffinity: return "cpu_affinity";
    case Step::kExec: return "execve";
    case Step::kStdio: return "stdio";
    case Step::kUcounts: return "ucount_limits";
    case Step::kLandlockRuleset: return "landlock_create_ruleset";
    case Step::kLandlockRule: return "landlock_add_rule";
    case Step::kLandlockRestrict: return "landlock_restrict_self";
    case Step::kOutputArea: return "output_area";
    case Step::kSubreaper: return "child_subreaper";
  }
  return "unknown";
}

}  // namespace confine::child
