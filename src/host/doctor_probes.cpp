// The real probes behind `confine doctor`. Reading sysctls says what should work; these try it:
// a forked child unshares a user namespace, clone3 starts a child that exits at once (with a
// pidfd, and once more straight into a test cgroup), and a uniquely named test leaf is created
// and removed where confine would put its leaves.
//
// The one thing written anywhere is that test leaf, and only inside the cgroup2 mount, checked
// both by path and by statfs: the cgroup v1 hierarchies next to it on hybrid hosts
// (/sys/fs/cgroup/memory, ...) belong to the machine's own manager and are never touched.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "confine/doctor.h"
#include "confine/fd.h"
#include "confine/host.h"

namespace confine::doctor {
namespace {

using host::read_number;
using host::read_text;

// glibc 2.36 has no P_PIDFD yet; it is idtype 3 in <linux/wait.h> (Linux 5.4).
constexpr idtype_t kPidfdIdType = static_cast<idtype_t>(3);


ProbeResult ok(std::string detail) { return {ProbeOutcome::kOk, 0, std::move(detail)}; }
ProbeResult failed(int err, std::string detail) { return {ProbeOutcome::kFailed, err, std::move(detail)}; }
ProbeResult not_tested(std::string why) { return {ProbeOutcome::kNotTested, 0, std::move(why)}; }

// A child that tries unshare(CLONE_NEWUSER) and exits with 0 or the errno. Forked, so the
// doctor's own process never changes namespace; the child makes only syscalls.
ProbeResult probe_user_namespace() {
  const pid_t pid = ::fork();
  if (pid < 0) return failed(errno, "fork");
  if (pid == 0) {
    const long r = ::syscall(SYS_unshare, CLONE_NEWUSER);
    ::_exit(r == 0 ? 0 : errno);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return failed(errno, "waitpid");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok("unshare(CLONE_NEWUSER) in a child");
  if (WIFEXITED(status)) return failed(WEXITSTATUS(status), "unshare(CLONE_NEWUSER)");
  return failed(0, "the probe child died of signal " + std::to_string(WTERMSIG(status)));
}

struct CloneProbe {
  ProbeResult clone3;
  ProbeResult pidfd;
};

// clone3 as the launcher calls it, minus the namespaces: CLONE_PIDFD, and CLONE_INTO_CGROUP
// when `cgroup_fd` is open. The child exits at once without touching the copied heap.
CloneProbe probe_clone3(int cgroup_fd) {
  int pidfd = -1;
  clone_args args{};
  args.flags = CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) args.cgroup = static_cast<uint64_t>(cgroup_fd);
  const long pid = ::syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) ::syscall(SYS_exit_group, 0);
  const int err = errno;
  const std::string what = cgroup_fd >= 0 ? "clone3(CLONE_PIDFD | CLONE_INTO_CGROUP)" : "clone3(CLONE_PIDFD)";
  if (pid < 0) return {failed(err, what), not_tested("clone3 failed")};

  CloneProbe result{ok(what), ok("")};
  UniqueFd fd(pidfd);
  siginfo_t info{};
  if (!fd) {
    result.pidfd = failed(0, "clone3 returned no pidfd");
  } else if (::waitid(kPidfdIdType, static_cast<id_t>(fd.get()), &info, WEXITED) == 0) {
    result.pidfd = ok("CLONE_PIDFD, waitid(P_PIDFD)");
    return result;
  } else {
    result.pidfd = failed(errno, "waitid(P_PIDFD)");
  }
  // Reap by pid whenever the pidfd could not.
  int status = 0;
  while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

bool under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

// Where a test leaf may go: inside the cgroup2 mount by path (absolute, no "." or ".."
// components) and by filesystem type, so no setting can point it into a v1 hierarchy.
bool safe_test_dir(const std::string& dir, const std::string& mount) {
  if (mount.empty() || dir.empty() || dir.front() != '/' || !under(dir, mount)) return false;
  if (dir.find("/./") != std::string::npos || dir.find("/../") != std::string::npos ||
      dir.ends_with("/.") || dir.ends_with("/..")) {
    return false;
  }
  for (const char* v1 : {"memory", "cpu", "cpuacct", "pids", "cpuset", "devices", "freezer", "blkio", "systemd"}) {
    if (under(dir, std::string("/sys/fs/cgroup/") + v1)) return false;
  }
  struct statfs fs {};
  return ::statfs(dir.c_str(), &fs) == 0 && static_cast<unsigned long>(fs.f_type) == CGROUP2_SUPER_MAGIC;
}

std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// The nearest existing directory at or above `path`, not above `mount`.
std::string existing_ancestor(std::string path, const std::string& mount) {
  while (under(path, mount) && ::access(path.c_str(), F_OK) != 0) path = parent_dir(path);
  return under(path, mount) ? path : mount;
}

std::string unique_leaf_name() {
  std::array<unsigned char, 4> bytes{};
  if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) bytes = {};
  char name[64];
  std::snprintf(name, sizeof(name), "confine-doctor-%d-%02x%02x%02x%02x", static_cast<int>(::getpid()),
                bytes[0], bytes[1], bytes[2], bytes[3]);
  return name;
}

// rmdir of a cgroup right after its only process was reaped can briefly see it populated.
int remove_leaf(const std::string& leaf) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::rmdir(leaf.c_str()) == 0) return 0;
    if (errno != EBUSY) return errno;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return EBUSY;
}

void probe_leaf(HostProbes& out) {
  const std::string target = out.cgroup_parent.empty()
                                 ? (out.own_cgroup.empty() || out.own_cgroup == "/" ? out.cgroup2_mount
                                                                                    : out.cgroup2_mount + out.own_cgroup)
                                 : out.cgroup_parent;
  if (out.cgroup2_mount.empty()) {
    out.leaf_create = not_tested("no cgroup2 mount");
    out.clone_into_cgroup = not_tested("no writable cgroup");
    return;
  }
  if (!under(target, out.cgroup2_mount)) {
    out.leaf_create = failed(0, target + " is not inside the cgroup2 mount " + out.cgroup2_mount);
    out.clone_into_cgroup = not_tested("no writable cgroup");
    return;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    out.leaf_test_dir = existing_ancestor(target, out.cgroup2_mount);
    if (!safe_test_dir(out.leaf_test_dir, out.cgroup2_mount)) {
      out.leaf_create = failed(0, out.leaf_test_dir + " is not a cgroup2 directory; nothing was created");
      out.clone_into_cgroup = not_tested("no writable cgroup");
      return;
    }
    const std::string leaf = out.leaf_test_dir + "/" + unique_leaf_name();
    if (::mkdir(leaf.c_str(), 0755) != 0) {
      // A concurrent run may have removed confine's parent between the lookup and the mkdir.
      if (errno == ENOENT && attempt == 0) continue;
      out.leaf_create = failed(errno, "mkdir " + leaf);
      out.clone_into_cgroup = not_tested("no writable cgroup");
      return;
    }
    {
      UniqueFd dir(::open(leaf.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      out.clone_into_cgroup = dir ? probe_clone3(dir.get()).clone3 : failed(errno, "open " + leaf);
    }
    if (const int err = remove_leaf(leaf); err != 0) {
      out.leaf_create = failed(err, "created " + leaf + " but could not remove it (remove it with rmdir)");
    } else {
      out.leaf_create = ok("mkdir + rmdir of a test leaf in " + out.leaf_test_dir);
    }
    return;
  }
}

void probe_delegation(HostProbes& out) {
  if (out.euid == 0 || out.cgroup2_mount.empty()) return;
  if (const auto self = read_text("/proc/self/cgroup")) out.own_cgroup = host::unified_cgroup_from_proc(*self);
  if (out.own_cgroup.empty()) return;
  const std::string dir = out.own_cgroup == "/" ? out.cgroup2_mount : out.cgroup2_mount + out.own_cgroup;
  struct stat st {};
  out.own_cgroup_owned = ::stat(dir.c_str(), &st) == 0 && st.st_uid == out.euid;
  out.subtree_control_writable = ::access((dir + "/cgroup.subtree_control").c_str(), W_OK) == 0;
}

bool seccomp_filter_mode() {
  // With a NULL program the kernel fails the copy with EFAULT when filter mode exists and EINVAL
  // when it does not; nothing is installed either way.
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, nullptr, 0, 0) == 0) return true;
  return errno == EFAULT;
}

bool seccomp_action_available(uint32_t action) {
  return ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

}  // namespace

std::vector<std::string> v1_controllers_from_mountinfo(std::string_view mountinfo) {
  std::vector<std::string> out;
  std::istringstream in{std::string(mountinfo)};
  std::string line;
  while (std::getline(in, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    const auto after = host::words(std::string_view(line).substr(dash + 3));
    if (after.size() < 3 || after[0] != "cgroup") continue;
    std::istringstream options(after[2]);
    std::string option;
    while (std::getline(options, option, ',')) {
      if (option.empty() || option == "rw" || option == "ro" || option.find('=') != std::string::npos) continue;
      if (std::find(out.begin(), out.end(), option) == out.end()) out.push_back(option);
    }
  }
  // Everything else in the super options is a flag, not a controller.
  std::erase_if(out, [](const std::string& o) {
    return o == "noprefix" || o == "clone_children" || o == "xattr" || o == "cpuset_v2_mode" || o == "none";
  });
  return out;
}

HostProbes probe_host(const plan::HostFacts& facts) {
  HostProbes out;
  out.euid = facts.euid;
  out.kernel_release = facts.kernel_release;

  out.max_user_namespaces = read_number("/proc/sys/user/max_user_namespaces");
  out.unprivileged_userns_clone = read_number("/proc/sys/kernel/unprivileged_userns_clone");
  out.apparmor_restrict_unprivileged_userns = read_number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  out.user_namespace = probe_user_namespace();
  out.apparmor_label = host::apparmor_label();
  if (const auto exe = host::read_link("/proc/self/exe")) out.self_exe = *exe;
  out.apparmor_profile = read_text(apparmor_profile_path());

  const CloneProbe clone = probe_clone3(-1);
  out.clone3 = clone.clone3;
  out.pidfd = clone.pidfd;

  // sd_booted(3): systemd as PID 1 creates this directory early at boot; nothing else does.
  out.no_systemd = host::file_kind("/run/systemd/system") != plan::FileKind::kDirectory;
  out.cgroup2_mount = facts.cgroup2_mount;
  if (const auto mountinfo = read_text("/proc/self/mountinfo")) {
    out.v1_controllers = v1_controllers_from_mountinfo(*mountinfo);
  }
  if (!out.cgroup2_mount.empty()) {
    if (const auto text = read_text(out.cgroup2_mount + "/cgroup.controllers")) out.root_controllers = host::words(*text);
  }
  out.cgroup_parent = facts.cgroup_parent;
  out.leaf_controllers = facts.cgroup_controllers;
  out.cgroup_parent_source = facts.cgroup_parent_source;
  probe_delegation(out);
  probe_leaf(out);

  out.seccomp_filter = seccomp_filter_mode();
  if (const auto actions = read_text("/proc/sys/kernel/seccomp/actions_avail")) out.seccomp_actions = host::words(*actions);
  out.seccomp_user_notif = out.seccomp_filter && seccomp_action_available(SECCOMP_RET_USER_NOTIF);
  out.landlock_abi = facts.landlock_abi;
  return out;
}

plan::HostFacts corrected_facts(plan::HostFacts facts, const HostProbes& probes) {
  if (probes.user_namespace.outcome == ProbeOutcome::kFailed) facts.user_namespaces = false;
  if (!probes.seccomp_filter) facts.seccomp = false;
  facts.seccomp_user_notif = facts.seccomp && probes.seccomp_user_notif;
  // The launcher would fail creating its leaf; plan as a run would find it: without a cgroup.
  if (!facts.cgroup_parent.empty() && probes.leaf_create.outcome == ProbeOutcome::kFailed) {
    facts.cgroup_parent.clear();
    facts.cgroup_controllers.clear();
  }
  return facts;
}

}  // namespace confine::doctor
