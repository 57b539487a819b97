#include "owner.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/securebits.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "confine/host.h"
#include "confine/safe_path.h"

namespace confine::launch {
namespace {

constexpr const char* kLockDir = "/run/confine/ns-owners";

// True when `uid` is mapped in confine's own user namespace (all of them are in the initial
// one; inside a container's namespace, only its range).
bool mapped_here(uid_t uid) {
  // host::read_text: one open and read, no stream machinery (locale, filebuf) on the way. Once
  // per process: a user namespace's map is written once and never changes, and confine never
  // changes its own namespace (a batch worker launches many jobs).
  static const auto map = host::read_text("/proc/self/uid_map");
  if (!map) return false;
  // Lines of three numbers: inside, outside, count.
  std::string_view rest(*map);
  auto next_number = [&rest](unsigned long& value) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\n')) rest.remove_prefix(1);
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc()) return false;
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    return true;
  };
  unsigned long inside = 0, outside = 0, count = 0;
  while (next_number(inside) && next_number(outside) && next_number(count)) {
    if (uid >= inside && uid - inside < count) return true;
  }
  return false;
}

// /run/confine/ns-owners, root's alone: created 0700 when missing, refused when anyone else
// could plant lock files there (they would let another user hold or skip slots).
Expected<UniqueFd> lock_directory() {
  // Where it exists (every run but the first): one openat2 that follows no symlink at all, so
  // stricter than the walk below (which follows root's), then the same ownership check; about
  // twenty syscalls fewer per launch. Anything else (missing, a symlink on the way, a kernel
  // before 5.6 without openat2) takes the walk.
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  if (UniqueFd direct(static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, kLockDir, &how, sizeof how))); direct) {
    struct stat st {};
    if (::fstat(direct.get(), &st) != 0) return fail_errno(errno, std::string("stat ") + kLockDir);
    if (st.st_uid == 0 && (st.st_mode & 077) == 0 && S_ISDIR(st.st_mode)) return direct;
  }
  for (const char* dir : {"/run/confine", kLockDir}) {
    if (::mkdir(dir, 0700) != 0 && errno != EEXIST) return fail_errno(errno, std::string("mkdir ") + dir);
  }
  auto fd = safe_path::open_directory(kLockDir);
  if (!fd) return fd;
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return fail_errno(errno, std::string("stat ") + kLockDir);
  if (st.st_uid != 0 || (st.st_mode & 077) != 0) {
    return fail(ErrorCode::kInvalidArgument, std::string(kLockDir) + " must be root's alone (mode 0700)",
                std::string("chown root ") + kLockDir + " && chmod 0700 " + kLockDir);
  }
  UniqueFd dir(::openat(fd->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return fail_errno(errno, std::string("open ") + kLockDir);
  return dir;
}

}  // namespace

Expected<NamespaceOwner> NamespaceOwner::acquire() {
  auto dir = lock_directory();
  if (!dir) return unexpected(std::move(dir.error()).add_context("a namespace owner uid for the job"));
  // The lowest free slot: the lock files (never removed: unlinking races with flock) stay as
  // few as the most jobs that ever ran at once.
  for (uid_t slot = 0; slot < kOwnerSlots; ++slot) {
    const std::string name = std::to_string(slot);
    UniqueFd lock(::openat(dir->get(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!lock) return fail_errno(errno, std::string("open ") + kLockDir + "/" + name);
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) continue;  // another job holds it
      return fail_errno(errno, std::string("flock ") + kLockDir + "/" + name);
    }
    const uid_t uid = kOwnerBase + slot;
    if (!mapped_here(uid)) {
      return fail(ErrorCode::kUnsupported,
                  "uid " + std::to_string(uid) + " (a job's namespace owner) is not mapped in confine's own user namespace",
                  "run confine as root of the initial user namespace, or rootless");
    }
    return NamespaceOwner(std::move(lock), uid);
  }
  return fail(ErrorCode::kUnsupported, "every namespace owner slot is in use (" + std::to_string(kOwnerSlots) + " jobs)");
}

NamespaceOwner::Switch::Switch(uid_t uid) {
  securebits_ = ::prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  dumpable_ = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  // SECBIT_NO_SETUID_FIXUP: changing the effective uid away from 0 would otherwise clear the
  // effective capabilities, which the clone into the job's cgroup and the id maps rely on.
  if (securebits_ < 0 || ::prctl(PR_SET_SECUREBITS, securebits_ | SECBIT_NO_SETUID_FIXUP, 0, 0, 0) != 0 ||
      ::setresuid(static_cast<uid_t>(-1), uid, static_cast<uid_t>(-1)) != 0) {
    std::perror("confine: switching to the namespace owner uid");
    std::abort();
  }
  switched_ = true;
  // File access stays root's: the child opens its bind sources with these credentials.
  (void)::setfsuid(0);
  if (::setfsuid(static_cast<uid_t>(-1)) != 0) {
    std::perror("confine: keeping root's file access");
    std::abort();
  }
}

NamespaceOwner::Switch::~Switch() {
  if (!switched_) return;
  if (::setresuid(static_cast<uid_t>(-1), 0, static_cast<uid_t>(-1)) != 0 ||
      ::prctl(PR_SET_SECUREBITS, securebits_, 0, 0, 0) != 0 || ::geteuid() != 0) {
    std::perror("confine: restoring root's credentials");
    std::abort();
  }
  // A change of effective uid made confine undumpable; restore what it was.
  if (dumpable_ >= 0) (void)::prctl(PR_SET_DUMPABLE, dumpable_, 0, 0, 0);
}

}  // namespace confine::launch
