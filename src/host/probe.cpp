// probe(): the real HostFacts. Reads procfs and sysfs only; nothing here creates or writes
// anything (in particular never under /sys/fs/cgroup, whose v1 hierarchies may belong to the
// machine's own manager).
#include <dirent.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <string>

#include "confine/host.h"

namespace confine::host {

// Plain open/read, not an ifstream: the launch reads half a dozen small /proc files, and the
// stream machinery (locale, filebuf, stringstream) cost more than the reads on a cold start.
std::optional<std::string> read_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

std::optional<long> read_number(const std::string& path) {
  const auto text = read_text(path);
  if (!text) return std::nullopt;
  char* end = nullptr;
  const long value = std::strtol(text->c_str(), &end, 10);
  if (end == text->c_str()) return std::nullopt;
  return value;
}

namespace {

// What `std::istream >> word` skips in the classic locale, without the stream: every launch
// splits a few /proc files into words, and building a stringstream (its locale, its buffer)
// for each cost more than the splitting.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// The word at `pos` or after it in `text`, and `pos` moved past it; empty at the end.
std::string_view next_word(std::string_view text, size_t& pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  const size_t start = pos;
  while (pos < text.size() && !is_space(text[pos])) ++pos;
  return text.substr(start, pos - start);
}

// The lines of `text` as std::getline gives them: split at '\n', no empty line after a final one.
template <class Visit>
void for_each_line(std::string_view text, Visit&& visit) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (!visit(text.substr(pos, end - pos))) return;
    pos = end + 1;
  }
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string_view digits = field.substr(i + 1, 3);
      if (digits.size() == 3 && digits.find_first_not_of("01234567") == std::string_view::npos) {
        out += static_cast<char>(((digits[0] - '0') << 6) | ((digits[1] - '0') << 3) | (digits[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

bool user_namespaces_allowed(uid_t euid) {
  const auto max = read_number("/proc/sys/user/max_user_namespaces");
  if (!max || *max <= 0) return false;
  if (euid == 0) return true;
  // Debian's switch for unprivileged user namespaces (absent on kernels without the patch).
  if (const auto clone = read_number("/proc/sys/kernel/unprivileged_userns_clone"); clone && *clone == 0) {
    return false;
  }
  // Ubuntu 23.10+: AppArmor gives an unconfined program's user namespaces no capabilities; a
  // profile of its own (packaging/apparmor/confine.in, `userns,`) is what lifts that. Under any
  // profile the profile decides: if it forbids them, the clone fails and says so.
  if (const auto restrict = read_number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
      restrict && *restrict != 0) {
    const std::string label = apparmor_label();
    return !label.empty() && label != "unconfined";
  }
  return true;
}

namespace {

bool has_word(const std::optional<std::string>& text, const std::string& word) {
  if (!text) return false;
  for (const std::string& w : words(*text)) {
    if (w == word) return true;
  }
  return false;
}

// Seccomp filter mode, and the actions this kernel has (/proc/sys/kernel/seccomp/actions_avail,
// read once for both questions).
struct SeccompSupport {
  bool filter = false;
  bool user_notif = false;
};
SeccompSupport seccomp_support() {
  // PR_GET_SECCOMP fails with EINVAL on a kernel without CONFIG_SECCOMP.
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) return {};
  const auto actions = read_text("/proc/sys/kernel/seccomp/actions_avail");
  SeccompSupport out;
  // kill_process (Linux 4.14) is the action every policy's "kill" compiles to.
  out.filter = has_word(actions, "kill_process");
  out.user_notif = out.filter && has_word(actions, "user_notif");
  return out;
}

}  // namespace

int landlock_abi() {
#ifdef SYS_landlock_create_ruleset
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi > 0 ? static_cast<int>(abi) : 0;
#else
  return 0;
#endif
}

std::vector<std::string> controllers_of(const std::string& dir) {
  const auto text = read_text(dir + "/cgroup.controllers");
  return text ? words(*text) : std::vector<std::string>{};
}

// The running kernel's release ("6.8.0-31-generic"): uname(2), one call, rather than opening,
// reading and closing /proc/sys/kernel/osrelease, which hold the same string (both are this UTS
// namespace's). Except under the UNAME26 personality (setarch --uname-2.6), where uname reports
// a made-up 2.6 release: then the file, which tells the truth, as it always did here.
std::string kernel_release() {
  utsname names{};
  const int persona = ::personality(0xffffffff);
  if (persona != -1 && (persona & UNAME26) == 0 && ::uname(&names) == 0) {
    size_t pos = 0;
    return std::string(next_word(names.release, pos));
  }
  const auto release = read_text("/proc/sys/kernel/osrelease");
  if (!release) return {};
  size_t pos = 0;
  return std::string(next_word(*release, pos));
}

// PROC_CGROUP_INIT_INO (include/linux/proc_ns.h): the initial cgroup namespace's inode number.
constexpr ino_t kInitialCgroupNamespaceInode = 0xEFFFFFFBU;

std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string try_user_namespace() {
  // clone3, as the launcher starts every namespace sandbox: a container's profile that refuses
  // clone3 (ENOSYS) refuses that launch too. The child exits at once, before touching anything.
  int pidfd = -1;
  clone_args args{};
  args.flags = CLONE_NEWUSER | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  const long pid = ::syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) ::syscall(SYS_exit_group, 0);
  if (pid < 0) return std::string("clone3(CLONE_NEWUSER): ") + std::strerror(errno);
  siginfo_t info{};
  (void)::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
  if (pidfd >= 0) ::close(pidfd);
  return "";
}

std::string apparmor_label() {
  for (const char* path : {"/proc/self/attr/apparmor/current", "/proc/self/attr/current"}) {
    if (const auto text = read_text(path)) {
      std::string label = *text;
      while (!label.empty() && (label.back() == '\n' || label.back() == '\0')) label.pop_back();
      return label;
    }
  }
  return {};
}

bool in_initial_cgroup_namespace() {
  struct stat st {};
  if (::stat("/proc/self/ns/cgroup", &st) != 0) return true;
  return st.st_ino == kInitialCgroupNamespaceInode;
}

bool delegated_to(const std::string& dir, uid_t uid) {
  // Ownership, not access(2): access answers for the real uid, and what matters is whether the
  // delegation (a chown by the manager) happened for this user. Owner-writable too, since a
  // manager could chown and still leave a file read-only.
  const auto owned_writable = [uid](const std::string& path, bool want_dir) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    if (want_dir != S_ISDIR(st.st_mode)) return false;
    return st.st_uid == uid && (st.st_mode & S_IWUSR) != 0;
  };
  return owned_writable(dir, true) && owned_writable(dir + "/cgroup.procs", false) &&
         owned_writable(dir + "/cgroup.subtree_control", false);
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (std::string_view word = next_word(text, pos); !word.empty(); word = next_word(text, pos)) {
    out.emplace_back(word);
  }
  return out;
}

std::string cgroup2_mount_from_mountinfo(std::string_view mountinfo) {
  std::string first;
  std::string found;
  for_each_line(mountinfo, [&](std::string_view line) {
    // id parent major:minor root mount-point options [optional fields...] - fstype source super
    const size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) return true;
    size_t after_pos = 0;
    if (next_word(line.substr(dash + 3), after_pos) != "cgroup2") return true;
    const std::string_view before = line.substr(0, dash);
    size_t pos = 0;
    std::string_view field;
    for (int i = 0; i < 5; ++i) field = next_word(before, pos);  // the fifth: the mount point
    if (field.empty()) return true;
    std::string mount_point = unescape(field);
    if (mount_point == "/sys/fs/cgroup") {
      found = std::move(mount_point);
      return false;
    }
    if (first.empty()) first = std::move(mount_point);
    return true;
  });
  return found.empty() ? first : found;
}

std::string unified_cgroup_from_proc(std::string_view proc_self_cgroup) {
  std::string out;
  for_each_line(proc_self_cgroup, [&](std::string_view line) {
    if (line.substr(0, 3) != "0::") return true;
    out = std::string(line.substr(3));
    return false;
  });
  return out;
}

plan::HostFacts probe() {
  plan::HostFacts facts;
  facts.euid = geteuid();
  facts.egid = getegid();
  facts.kernel_release = kernel_release();
  facts.user_namespaces = user_namespaces_allowed(facts.euid);
  const SeccompSupport seccomp = seccomp_support();
  facts.seccomp = seccomp.filter;
  facts.seccomp_user_notif = seccomp.user_notif;
  facts.landlock_abi = landlock_abi();
  // The per-user-namespace limits this kernel has (they arrived over several releases).
  if (DIR* dir = ::opendir("/proc/sys/user")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') facts.user_sysctls.emplace_back(entry->d_name);
    }
    ::closedir(dir);
  }

  if (const auto mountinfo = read_text("/proc/self/mountinfo")) {
    facts.cgroup2_mount = cgroup2_mount_from_mountinfo(*mountinfo);
  }
  if (!facts.cgroup2_mount.empty()) {
    CgroupView view;
    view.euid = facts.euid;
    view.mount = facts.cgroup2_mount;
    if (const auto self = read_text("/proc/self/cgroup")) view.own = unified_cgroup_from_proc(*self);
    if (const char* override_parent = std::getenv("CONFINE_CGROUP_PARENT")) view.override_parent = override_parent;
    view.initial_cgroup_namespace = in_initial_cgroup_namespace();
    const CgroupPlacement placement = place_cgroup(view);
    facts.cgroup_parent = placement.parent;
    facts.cgroup_parent_source = placement.source;
    if (!placement.parent.empty()) {
      // A parent the launcher has yet to create (the shared one) gets its controllers from the
      // directory it will be created in.
      const std::string source =
          access(placement.parent.c_str(), F_OK) == 0 ? placement.parent : parent_dir(placement.parent);
      facts.cgroup_controllers = controllers_of(source);
    }
  }

  facts.file_kind = [](const std::string& path) { return file_kind(path); };
  facts.read_link = [](const std::string& path) { return read_link(path); };
  facts.executable = [](const std::string& path) { return executable(path); };
  facts.list_directory = [](const std::string& path) { return list_directory(path); };
  // Only when the sysctls allow user namespaces: then only trying tells (a seccomp profile).
  if (facts.user_namespaces) facts.try_user_namespace = [] { return try_user_namespace(); };
  facts.hard_limit = [](int resource) -> std::optional<uint64_t> {
    rlimit limit{};
    if (::getrlimit(resource, &limit) != 0) return std::nullopt;
    return static_cast<uint64_t>(limit.rlim_max);
  };
  return facts;
}

}  // namespace confine::host
