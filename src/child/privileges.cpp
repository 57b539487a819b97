// Identity and privilege steps in the child: ids, securebits, capabilities, no_new_privs,
// seccomp. Raw prctl/capset/seccomp calls only: libcap and libseccomp allocate, so the parent
// computed the masks and the BPF program and the child just applies them.
#include "privileges.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "report.h"

namespace confine::child {
namespace {

int capset_masks(uint64_t effective, uint64_t permitted, uint64_t inheritable) noexcept {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[2]{};
  data[0].effective = static_cast<uint32_t>(effective);
  data[1].effective = static_cast<uint32_t>(effective >> 32);
  data[0].permitted = static_cast<uint32_t>(permitted);
  data[1].permitted = static_cast<uint32_t>(permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(inheritable);
  data[1].inheritable = static_cast<uint32_t>(inheritable >> 32);
  return static_cast<int>(::syscall(SYS_capset, &header, data));
}

}  // namespace

int set_capabilities(uint64_t effective, uint64_t permitted, uint64_t inheritable) noexcept {
  return capset_masks(effective, permitted, inheritable);
}

void switch_ids(const Image& image) noexcept {
  const int err = image.error_fd;
  // The ids change early (right after the bind sources are opened with the caller's
  // credentials) because files created in the sandbox's tmpfs must be owned by an id mapped in
  // its user namespace: the caller's host uid is not (mkdir fails with EOVERFLOW). KEEPCAPS
  // keeps the capabilities this namespace granted us across setresuid; they are needed for the
  // mounts that follow and are dropped before exec.
  CONFINE_CHECK(::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), err, Step::kSetIds, 0);
  // Supplementary groups: the parent dropped them when run as root; rootless, setgroups is
  // denied in this namespace (required for an unprivileged gid map) and the caller's groups
  // stay, granting nothing the caller did not have.
  CONFINE_CHECK(::setresgid(image.gid, image.gid, image.gid), err, Step::kSetIds, 1);
  CONFINE_CHECK(::setresuid(image.uid, image.uid, image.uid), err, Step::kSetIds, 2);
  // setresuid to a non-zero uid cleared the effective set; restore it from permitted.
  constexpr uint64_t kAll = ~uint64_t{0};
  CONFINE_CHECK(capset_masks(kAll, kAll, 0), err, Step::kSetIds, 3);
}

void drop_privileges(const Image& image, uint64_t keep) noexcept {
  const int err = image.error_fd;
  // Securebits, while CAP_SETPCAP is still held, all locked: NOROOT so uid 0 inside (a policy
  // may choose it) gains no capabilities at exec; NO_SETUID_FIXUP so no uid change brings
  // capabilities back; KEEP_CAPS cleared and locked. Without this, `uid = 0` in a policy would
  // hand the target every capability of its user namespace again at execve.
  const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                             SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
  CONFINE_CHECK(::prctl(PR_SET_SECUREBITS, bits, 0, 0, 0), err, Step::kSecurebits, 0);

  // The bounding set limits what any future exec could ever gain (file capabilities included).
  for (int cap = 0; cap <= image.cap_last; ++cap) {
    if ((keep >> cap) & 1) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
      die(err, Step::kBoundingSet, cap, errno);
    }
  }
  // Permitted, effective, inheritable: exactly the kept set. Ambient: cleared, then the kept
  // capabilities raised so they survive execve of a non-setuid program as a non-root uid.
  CONFINE_CHECK(capset_masks(keep, keep, keep), err, Step::kCapabilities, 0);
  CONFINE_CHECK(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), err, Step::kCapabilities, 1);
  for (int cap = 0; cap <= image.cap_last; ++cap) {
    if ((keep >> cap) & 1) {
      CONFINE_CHECK(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), err, Step::kCapabilities, 2 + cap);
    }
  }
  // no_new_privs: execve never grants privileges again (setuid bits, file capabilities), and it
  // is what lets an unprivileged process install a seccomp filter.
  CONFINE_CHECK(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), err, Step::kNoNewPrivs, 0);
}

void drop_remaining_capabilities() noexcept {
  // Ambient capabilities must stay within permitted and inheritable: emptying those clears
  // them too.
  (void)capset_masks(0, 0, 0);
}

void move_listener_handoff(const Image& image) noexcept {
  const int err = image.error_fd;
  // The notify socket moves to the one descriptor the filter lets sendmsg use whatever the
  // policy says of sendmsg (seccomp::kListenerHandoffFd; install_seccomp hands the listener
  // over there). Before the rlimits: RLIMIT_NOFILE may come down below it, and a job that can
  // never open a descriptor that high can never use that exception itself.
  if (image.notify_fd < 0) return;
  rlimit64 files{};
  CONFINE_CHECK(::prlimit64(0, RLIMIT_NOFILE, nullptr, &files), err, Step::kSeccomp, 2);
  if (files.rlim_cur <= static_cast<uint64_t>(kListenerHandoffFd)) {
    files.rlim_cur = files.rlim_max;  // the plan checked the hard limit leaves room
    CONFINE_CHECK(::prlimit64(0, RLIMIT_NOFILE, &files, nullptr), err, Step::kSeccomp, 3);
  }
  if (image.notify_fd != kListenerHandoffFd) {
    CONFINE_CHECK(::dup3(image.notify_fd, kListenerHandoffFd, O_CLOEXEC), err, Step::kSeccomp, 4);
  }
}

void install_seccomp(const Image& image) noexcept {
  if (image.seccomp == nullptr) return;
  // Last step before execve, so the filter need not allow any setup syscall. The filter was
  // compiled and exported by the parent; this is a single syscall with no allocation.
  if (image.notify_fd < 0) {
    CONFINE_CHECK(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, image.seccomp), image.error_fd,
                  Step::kSeccomp, 0);
    return;
  }
  // With a listener: the kernel hands back an fd on which denials are reported. It goes to the
  // parent (SCM_RIGHTS) over the notify socket, which the target moved to the one descriptor the
  // filter lets sendmsg use whatever the policy says (seccomp_handoff_fd); then both are closed,
  // so the job never holds either.
  //
  // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19): once confine has received a
  // notification, only a fatal signal ends the job's wait for the answer. Without it any signal
  // the job handles without SA_RESTART (a shell's SIGCHLD) ends it while confine looks at the
  // call (its memory, /proc), and the call fails with EINTR where the job never expects one.
  // Before confine receives it the kernel still lets a signal through, so learning keeps the
  // calls where that hurt most unwatched (seccomp::learning_baseline). Older kernels refuse the
  // flag (EINVAL), and the filter is installed without it.
  long listener = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                            SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, image.seccomp);
  if (listener < 0 && errno == EINVAL) {
    listener = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, image.seccomp);
  }
  CONFINE_CHECK(listener, image.error_fd, Step::kSeccomp, 0);
  const int fd = static_cast<int>(listener);
  char byte = 'L';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  ssize_t sent;
  do {
    sent = ::sendmsg(kListenerHandoffFd, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  CONFINE_CHECK(sent, image.error_fd, Step::kSeccomp, 1);
  ::close(fd);
  ::close(kListenerHandoffFd);
}

void reset_signal_dispositions(uint64_t mask) noexcept {
  for (int sig = 1; sig < NSIG && sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || (mask & (uint64_t{1} << (sig - 1))) == 0) continue;
    struct sigaction action{};
    action.sa_handler = SIG_DFL;
    (void)::sigaction(sig, &action, nullptr);  // fails harmlessly for glibc-reserved signals
  }
}

}  // namespace confine::child
