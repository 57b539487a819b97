#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <charconv>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

#include "confine/cgroup.h"

namespace confine::cgroup {
namespace {

Expected<void> write_file(int dir, const std::string& file, const std::string& value) {
  UniqueFd fd(::openat(dir, file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno(errno, "open " + file);
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno(errno, "write '" + value + "' to " + file);
  return {};
}

std::string leaf_name() {
  // pid plus randomness: unique among concurrent runs and across pid reuse. getrandom(2) first:
  // one syscall, where std::random_device's set-up runs cpuid several times to look for
  // RDRAND, and cpuid traps to the hypervisor on a VM (about 8 us each measured here).
  uint32_t random = 0;
  if (::getrandom(&random, sizeof random, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof random)) {
    std::random_device rd;
    random = rd();
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "job-%d-%08x", static_cast<int>(::getpid()), random);
  return buf;
}

// What /proc says of the owner named in a leaf "job-<pid>-<random>".
enum class Owner {
  kConfine,  // a process named confine runs under that pid
  kOther,    // no process has that pid, or one that is not confine
  kUnknown,  // /proc could not tell (out of descriptors, say): the leaf must be left alone
};
Owner owner_of(long pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%ld/comm", pid);
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return errno == ENOENT || errno == ESRCH ? Owner::kOther : Owner::kUnknown;
  char comm[32] = {};
  ssize_t n = ::read(fd.get(), comm, sizeof comm - 1);
  if (n <= 0) return Owner::kUnknown;
  return std::string_view(comm, static_cast<size_t>(n)).substr(0, 7) == "confine" ? Owner::kConfine : Owner::kOther;
}

// A confine killed with SIGKILL cannot remove its leaf (its sandbox died with it, through the
// parent-death signal, but the directory stays). The next run removes such leftovers: leaves
// whose owning confine is gone are killed (in case anything still runs there) and removed.
// Gone means both, each positively seen: no confine runs under the pid in the name, and the
// flock a live owner keeps on its leaf (Leaf::create) could be taken. The pid alone misjudges a
// confine in another pid namespace sharing this parent (its pid means nothing here, and its live
// job would be killed); the lock alone misses the moment between an owner's mkdir and its flock
// (Leaf::create then starts over). Whatever cannot be checked (no descriptor left to open /proc
// or the leaf with) counts as alive: a sweep short of descriptors once removed every other
// run's new, still empty leaf, whose clone3 into it then failed with ENOENT.
void remove_stale_leaves(const std::string& parent) {
  DIR* dir = ::opendir(parent.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = ::readdir(dir)) {
    long pid = 0;
    char rest[64];
    if (std::sscanf(entry->d_name, "job-%ld-%63s", &pid, rest) != 2) continue;
    if (pid == ::getpid() || owner_of(pid) != Owner::kOther) continue;
    const std::string path = parent + "/" + entry->d_name;
    UniqueFd stale(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!stale || ::flock(stale.get(), LOCK_EX | LOCK_NB) < 0) continue;  // alive, or cannot tell
    (void)write_file(stale.get(), "cgroup.kill", "1");
    for (int attempt = 0; attempt < 100 && ::rmdir(path.c_str()) < 0 && errno == EBUSY; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  ::closedir(dir);
}

std::optional<std::string> read_small(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// True when `dir`'s cgroup.subtree_control already lists every controller in `controllers`.
// Lets the walk skip ancestors a rootless user may read but not write (systemd's user.slice has
// memory and pids enabled for us, but writing its subtree_control would fail with EACCES).
bool already_enabled(const std::string& dir, const std::vector<std::string>& controllers) {
  const auto text = read_small(dir + "/cgroup.subtree_control");
  if (!text) return false;
  std::vector<std::string> enabled;
  std::istringstream in(*text);
  for (std::string word; in >> word;) enabled.push_back(word[0] == '+' ? word.substr(1) : word);
  return std::all_of(controllers.begin(), controllers.end(), [&](const std::string& c) {
    return std::find(enabled.begin(), enabled.end(), c) != enabled.end();
  });
}

// True when this process is listed in `dir`/cgroup.procs.
bool we_are_in(const std::string& dir) {
  const auto text = read_small(dir + "/cgroup.procs");
  if (!text) return false;
  std::istringstream in(*text);
  const long self = static_cast<long>(::getpid());
  for (long pid = 0; in >> pid;) {
    if (pid == self) return true;
  }
  return false;
}

std::chrono::seconds sweep_interval{0};
std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> last_sweep;

}  // namespace

void sweep_at_most_every(std::chrono::seconds interval) { sweep_interval = interval; }

Expected<void> vacate_parent(const std::string& parent) {
  // cgroup v2's no-internal-processes rule (cgroups(7), "Rules for subtree delegation"): a
  // non-root cgroup holding processes cannot enable domain controllers for its children, so
  // `+memory` into parent/cgroup.subtree_control fails with EBUSY while confine sits in it. This
  // is exactly the rootless case: systemd-run --user --scope -p Delegate=yes starts confine in
  // the delegated scope itself. Moving into a child cgroup of our own leaves the scope empty;
  // as the scope's owner we may (writing to the destination's cgroup.procs needs write access
  // to it and to the common ancestor's cgroup.procs, here the scope's, which systemd chowned).
  if (!we_are_in(parent)) return {};
  const std::string supervisor = parent + "/supervisor";
  if (::mkdir(supervisor.c_str(), 0755) < 0 && errno != EEXIST) {
    return fail_errno(errno, "create cgroup " + supervisor,
                      "confine sits in " + parent + " itself and must move out of it before creating job "
                      "cgroups there; see docs/cgroups.md");
  }
  UniqueFd dir(::open(supervisor.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return fail_errno(errno, "open cgroup " + supervisor);
  if (auto moved = write_file(dir.get(), "cgroup.procs", std::to_string(::getpid())); !moved) {
    return unexpected(std::move(moved.error()).add_context("move confine into " + supervisor));
  }
  return {};
}

// Enables `controllers` in cgroup.subtree_control of every cgroup from the cgroup2 root down to
// `parent`, so the leaf gets memory.max, pids.max, cpu.max. A controller must be enabled in
// each ancestor before its children can use it; writing "+memory" where it already is enabled
// is a no-op. The walk up stops at the mount root (the first directory whose parent has no
// cgroup.subtree_control).
Expected<void> enable_controllers(const std::string& parent, const std::vector<std::string>& controllers) {
  if (controllers.empty()) return {};
  std::vector<std::string> chain;
  for (std::string dir = parent; !dir.empty() && dir != "/";) {
    chain.push_back(dir);
    const std::string up = dir.substr(0, dir.rfind('/'));
    if (up.empty() || ::access((up + "/cgroup.subtree_control").c_str(), F_OK) != 0) break;
    dir = up;
  }
  std::string wanted;
  for (const auto& c : controllers) wanted += (wanted.empty() ? "+" : " +") + c;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (already_enabled(*it, controllers)) continue;
    UniqueFd dir(::open(it->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return fail_errno(errno, "open cgroup " + *it);
    if (auto r = write_file(dir.get(), "cgroup.subtree_control", wanted); !r) {
      if (r.error().sys_errno == EBUSY) {
        // The no-internal-processes rule: something other than confine lives in this cgroup
        // (the shell of a delegated scope that then started confine, or the service that runs
        // confine in its own delegated cgroup).
        r.error().hint =
            "cgroup v2 refuses controllers for a cgroup whose own processes are not all in child "
            "cgroups (systemd's rule for delegated units: no processes in inner nodes); start confine "
            "as the delegated unit's only process (systemd-run --scope -p Delegate=yes confine run ..., "
            "with --user when unprivileged), or keep the service's own processes in a leaf "
            "(DelegateSubgroup=supervisor in the unit, systemd 254+) so confine nests beside it "
            "(docs/cgroups.md)";
      }
      return unexpected(std::move(r.error()).add_context("enable " + wanted + " in " + *it));
    }
  }
  return {};
}

Expected<Leaf> Leaf::create(const std::string& parent, const std::vector<std::string>& controllers) {
  // The parent directory groups confine's leaves; it holds no process itself, which keeps the
  // cgroup v2 no-internal-processes rule satisfied when controllers are enabled below it. The
  // last run to finish removes it (remove()), so a concurrent run may delete it between our
  // mkdir(parent) and mkdir(leaf): then the leaf's mkdir fails with ENOENT, and we start over.
  // A concurrent run's sweep (remove_stale_leaves) may also take the new leaf itself, in the
  // moment between its mkdir and its flock, when it cannot tell this confine is alive (one in
  // another pid namespace, or installed under another name): the check after the flock below
  // sees that, and we start over with a new leaf.
  for (int attempt = 0;; ++attempt) {
    if (::mkdir(parent.c_str(), 0755) < 0 && errno != EEXIST) {
      return fail_errno(errno, "create cgroup " + parent,
                        "run as root, or point CONFINE_CGROUP_PARENT at a cgroup you may write (see `confine doctor`)");
    }
    // Every time, unless this process asked for less (sweep_at_most_every): a batch worker's
    // sweep, a directory read and an open per foreign leaf, found nothing to take on all but its
    // first job. After a lost race (attempt > 0) always.
    const auto now = std::chrono::steady_clock::now();
    if (auto last = last_sweep.find(parent);
        attempt > 0 || last == last_sweep.end() || now - last->second >= sweep_interval) {
      remove_stale_leaves(parent);
      last_sweep.insert_or_assign(parent, now);
    }
    // Out of the parent once is out for good: nothing moves confine back, and a forked worker
    // starts in the cgroup its parent was in.
    static std::set<std::string, std::less<>> vacated_parents;
    if (!vacated_parents.contains(parent)) {
      if (auto vacated = vacate_parent(parent); !vacated) return unexpected(vacated.error());
      vacated_parents.insert(parent);
    }
    if (auto enabled = enable_controllers(parent, controllers); !enabled) {
      if (errno == ENOENT && attempt < 5) continue;
      return unexpected(enabled.error());
    }
    std::string path = parent + "/" + leaf_name();
    if (::mkdir(path.c_str(), 0755) < 0) {
      if (errno != ENOENT || attempt >= 5) return fail_errno(errno, "create cgroup " + path);
      continue;
    }
    UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
      if (errno == ENOENT && attempt < 5) continue;  // swept before we opened it
      int e = errno;
      ::rmdir(path.c_str());
      return fail_errno(e, "open cgroup " + path);
    }
    // The mark of a live owner, whatever pid namespace it runs in (remove_stale_leaves): an
    // exclusive flock, held as long as this fd is open and gone with confine's last fd, however
    // it dies. The clone's copy of the fd shares the lock; the child closes it at once.
    // Blocking: a sweep that got the lock first holds it only while it removes the leaf.
    while (::flock(dir.get(), LOCK_EX) < 0 && errno == EINTR) {
    }
    // Still ours at its path once locked? A sweep that won the race removed it (cgroup.kill
    // found nothing to kill): the fd then names a dead cgroup that clone3 cannot join.
    struct stat held {}, named {};
    if (::fstat(dir.get(), &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      return Leaf(path, std::move(dir));
    }
    if (attempt >= 5) return fail_errno(ENOENT, "create cgroup " + path + " (removed by a concurrent run)");
  }
}

Leaf& Leaf::operator=(Leaf&& other) noexcept {
  if (this != &other) {
    (void)remove();
    path_ = std::move(other.path_);
    dir_ = std::move(other.dir_);
    other.path_.clear();
  }
  return *this;
}

Leaf::~Leaf() { (void)remove(); }

Expected<void> Leaf::write(const std::string& file, const std::string& value) const {
  return write_file(dir_.get(), file, value);
}

Expected<std::string> Leaf::read(const std::string& file) const {
  UniqueFd fd(::openat(dir_.get(), file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno(errno, "open " + path_ + "/" + file);
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(errno, "read " + path_ + "/" + file);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::optional<uint64_t> key_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ') continue;
    uint64_t v = 0;
    const std::string_view number = line.substr(key.size() + 1);
    if (std::from_chars(number.data(), number.data() + number.size(), v).ec != std::errc()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

std::optional<uint64_t> Leaf::read_key(const std::string& file, const std::string& key) const {
  auto text = read(file);
  if (!text) return std::nullopt;
  return key_value(*text, key);
}

std::optional<uint64_t> Leaf::read_number(const std::string& file) const {
  auto text = read(file);
  if (!text) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

Expected<void> Leaf::signal_all(int signal) const {
  // Freeze first: a process listed in cgroup.procs cannot fork a child we would miss while we
  // signal the others. Thaw afterwards so the processes can act on the signal.
  const bool frozen = write("cgroup.freeze", "1").has_value();
  auto procs = read("cgroup.procs");
  if (procs) {
    std::istringstream in(*procs);
    long pid;
    while (in >> pid) (void)::kill(static_cast<pid_t>(pid), signal);
  }
  if (frozen) (void)write("cgroup.freeze", "0");
  if (!procs) return unexpected(procs.error());
  return {};
}

Expected<void> Leaf::kill() const { return write("cgroup.kill", "1"); }

bool Leaf::populated() const {
  // Unreadable counts as populated: callers asking "is anything left?" must not be told "no"
  // because the question failed.
  auto v = read_key("cgroup.events", "populated");
  return !v || *v != 0;
}

namespace {
// cgroup.events readable and "populated 1". Unreadable (the directory is not a cgroup, or is
// already gone) is not worth waiting on: rmdir will tell.
bool known_populated(const Leaf& leaf) {
  auto v = leaf.read_key("cgroup.events", "populated");
  return v && *v != 0;
}
}  // namespace

bool Leaf::wait_empty(std::chrono::milliseconds timeout) const {
  // cgroup.events signals POLLPRI whenever "populated" changes: wait on that instead of spinning.
  UniqueFd events(::openat(dir_.get(), "cgroup.events", O_RDONLY | O_CLOEXEC));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (known_populated(*this)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (events) {
      pollfd p{events.get(), POLLPRI, 0};
      (void)::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 50)));
      char buf[256];
      ssize_t drained = ::pread(events.get(), buf, sizeof buf, 0);  // re-arms POLLPRI
      (void)drained;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return true;
}

Expected<void> Leaf::remove() {
  if (path_.empty()) return {};
  if (known_populated(*this)) {
    (void)kill();
    (void)wait_empty(std::chrono::seconds(5));
  }
  dir_.reset();
  // rmdir can briefly fail with EBUSY while the last exiting tasks are released.
  int err = 0;
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) {
      // The parent goes too once it is empty, so a finished run leaves no directory behind;
      // with other jobs still running this fails with EBUSY and the parent stays for them. A
      // delegated parent (host::place_cgroup) always holds confine itself, in it or in a leaf
      // below it, so it is never removed: confine removes no cgroup it did not create.
      const std::string parent = path_.substr(0, path_.rfind('/'));
      (void)::rmdir(parent.c_str());
      path_.clear();
      return {};
    }
    err = errno;
    if (err != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string path = std::move(path_);
  path_.clear();
  return fail_errno(err, "remove cgroup " + path);
}

}  // namespace confine::cgroup
