// Program::summary: what a filter does, in words, for `confine run --dry-run` and plan rendering.
//
// The order is stable (built-ins first, then kill, errno by value, allow; names sorted) so the
// text can be compared against golden files even though the BPF itself is not.
#include "summary.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "names.h"

namespace confine::seccomp {

namespace {

constexpr size_t kLineWidth = 100;

// Orders actions most restrictive first: kill, then errno by value, then allow.
struct ActionOrder {
  static int rank(policy::SeccompAction kind) {
    switch (kind) {
      case policy::SeccompAction::kKill: return 0;
      case policy::SeccompAction::kErrno: return 1;
      case policy::SeccompAction::kAllow: return 2;
    }
    return 3;
  }
  bool operator()(const Action& a, const Action& b) const {
    return std::tuple(rank(a.kind), a.errno_value) < std::tuple(rank(b.kind), b.errno_value);
  }
};

// "label (n): a b c", wrapped onto indented continuation lines.
void append_wrapped(std::vector<std::string>& lines, const std::string& label,
                    const std::vector<std::string>& names) {
  std::string line = label + " (" + std::to_string(names.size()) + "):";
  for (const std::string& name : names) {
    if (line.size() + 1 + name.size() > kLineWidth) {
      lines.push_back(std::move(line));
      line = "   ";
    }
    line += ' ';
    line += name;
  }
  lines.push_back(std::move(line));
}

}  // namespace

std::string describe(const Action& action) {
  switch (action.kind) {
    case policy::SeccompAction::kAllow: return "allow";
    case policy::SeccompAction::kKill: return "kill process";
    case policy::SeccompAction::kErrno:
      return "errno " + errno_name(action.errno_value) + " (" +
             std::to_string(action.errno_value) + ")";
  }
  return "unknown";
}

std::vector<std::string> summarize(const Resolved& resolved, const BuiltinChoices& builtins) {
  std::vector<std::string> lines;
  lines.push_back("default: " + describe(resolved.default_action));
  lines.push_back("built-in: foreign architectures (i386 int 0x80, x32) -> kill process");

  std::string clone3 = "built-in: clone3 -> errno ENOSYS, so libc falls back to clone";
  if (builtins.clone3_policy &&
      !(*builtins.clone3_policy == Action{policy::SeccompAction::kErrno, ENOSYS})) {
    clone3 += " (replaces the policy's " + describe(*builtins.clone3_policy) + ")";
  }
  lines.push_back(std::move(clone3));

  if (builtins.clone_split) {
    lines.push_back("built-in: clone with a CLONE_NEW* flag -> " +
                    describe(builtins.clone_namespaces) + ", the action for unshare");
  } else {
    lines.push_back("built-in: clone with a CLONE_NEW* flag -> " +
                    describe(builtins.clone_namespaces) + ", as every clone (no split needed)");
  }

  if (builtins.ioctl_guarded) {
    lines.push_back(
        "built-in: ioctl TIOCSTI, TIOCLINUX -> errno EPERM (1), low 32 bits of the request "
        "compared");
  } else {
    lines.push_back("built-in: ioctl TIOCSTI, TIOCLINUX -> " + describe(builtins.ioctl) +
                    ", as every ioctl");
  }

  if (!builtins.socket_families.empty()) {
    std::string families;
    for (int f : builtins.socket_families) families += (families.empty() ? "" : " ") + socket_family_name(f);
    lines.push_back("built-in: socket, socketpair: only families " + families +
                    "; any other -> errno EAFNOSUPPORT (97)");
  }
  if (builtins.setid_modes) {
    lines.push_back("built-in: chmod fchmod fchmodat fchmodat2 mkdir mkdirat mknod mknodat creat, and open/openat "
                    "with O_CREAT or O_TMPFILE, with S_ISUID or S_ISGID in the mode -> errno EPERM (1)");
  }
  if (builtins.openat2_enosys) {
    lines.push_back("built-in: openat2 -> errno ENOSYS (38): its mode is out of the filter's reach; libc falls back");
  }
  if (builtins.fallocate_keep_size) {
    lines.push_back("built-in: fallocate with FALLOC_FL_KEEP_SIZE (not punching a hole) -> errno EOPNOTSUPP (95)");
  }
  if (builtins.unaccounted_memory) {
    lines.push_back("built-in: memfd_create memfd_secret shmget msgget -> errno ENOSYS (38): memory RLIMIT_AS "
                    "cannot see, while the memory limit falls back to it");
  }
  if (builtins.listener_handoff) {
    lines.push_back("built-in: sendmsg on fd " + std::to_string(kListenerHandoffFd) +
                    " -> allow (the target hands confine its listener there); any other sendmsg -> the policy's action");
  }
  if (!builtins.supervised.empty()) {
    append_wrapped(lines, "built-in: notify confine, then continue, so no violation is lost", builtins.supervised);
  }

  std::map<Action, std::vector<std::string>, ActionOrder> by_action;
  for (const auto& [name, action] : resolved.syscalls) {
    if (action == resolved.default_action || name == "clone3") continue;
    // Spelled out by a built-in line above when the built-in took the syscall over.
    if (std::find(builtins.supervised.begin(), builtins.supervised.end(), name) != builtins.supervised.end()) continue;
    if (!syscall_number(name)) continue;  // listed once, under "not on this architecture"
    by_action[action].push_back(name);  // std::map iteration keeps names sorted
  }
  for (const auto& [action, names] : by_action) append_wrapped(lines, describe(action), names);

  if (!builtins.skipped.empty()) {
    append_wrapped(lines, "not on this architecture (no rule emitted)", builtins.skipped);
  }
  return lines;
}

}  // namespace confine::seccomp
