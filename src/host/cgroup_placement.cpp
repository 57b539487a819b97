// place_cgroup(): where confine puts its job leaves (docs/cgroups.md, "Where the leaves go").
//
// systemd's delegation rules decide it (systemd.io/CGROUP_DELEGATION): a unit with Delegate=yes
// owns the subtree below its cgroup, and everything else in the tree belongs to the manager;
// and, as for any cgroup v2 subtree, processes live only in leaves, never in a cgroup whose
// children get controllers. So confine nests in a subtree that was delegated to the service it
// runs in, and uses the root-level `<cgroup2>/confine/` only as root outside any such subtree.
// Only reads (stat, getxattr, access); the launcher creates and moves (cgroup::Leaf::create).
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "confine/host.h"

namespace confine::host {
namespace {

std::string parent_path(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// The directory of cgroup `path` ("/system.slice/x.service", or "/" for the root) in `mount`.
std::string dir_of(const std::string& mount, const std::string& path) {
  return path == "/" ? mount : mount + path;
}

// Whether this process may create leaves in `dir` and enable controllers there: root needs a
// writable directory (not a read-only cgroupfs), anyone else a delegation to its uid.
bool may_manage(const std::string& dir, uid_t euid) {
  if (euid == 0) return ::access(dir.c_str(), W_OK) == 0;
  return delegated_to(dir, euid);
}

// Root's directories above the delegated ones (the override, the shared parent): usable only
// where root can create them, so a read-only cgroup2 mount (inside a container, say) is "no
// cgroup", which the plan handles (fail closed, or best-effort and said), not a failed mkdir.
CgroupPlacement where_root_can_create(const std::string& parent, const char* source) {
  const std::string existing = ::access(parent.c_str(), F_OK) == 0 ? parent : parent_path(parent);
  if (::access(existing.c_str(), W_OK) != 0) return {"", existing + " is not writable (" + source + ")"};
  return {parent, source};
}

}  // namespace

bool delegation_marked(const std::string& dir) {
  // systemd 251+ marks the cgroup of every unit with Delegate=yes: trusted.delegate (readable by
  // root only) and user.delegate, both "1" (systemd's own cg_is_delegated reads them this way).
  for (const char* name : {"trusted.delegate", "user.delegate"}) {
    char value[8] = {};
    const ssize_t n = ::getxattr(dir.c_str(), name, value, sizeof value);
    if (n > 0 && value[0] == '1') return true;
  }
  return false;
}

CgroupPlacement place_cgroup(const CgroupView& view) {
  if (view.mount.empty()) return {"", "no cgroup2 mount"};
  const bool root = view.euid == 0;
  if (root && !view.override_parent.empty()) return where_root_can_create(view.override_parent, kCgroupOverrideSource);

  // 1. A subtree delegated to the service confine runs in. Either confine's own cgroup carries
  //    the mark (it runs in the unit's cgroup: the launcher moves it into <cgroup>/supervisor
  //    before enabling controllers there), or the cgroup right above does (the unit keeps its
  //    processes in a leaf, as DelegateSubgroup= does, and job leaves go beside that leaf). Never
  //    further up: a mark higher still belongs to another manager's unit (user@.service is
  //    delegated to the user's systemd, not to the scopes below it).
  const std::string& own = view.own;
  if (!own.empty() && own != "/") {
    const std::string dir = dir_of(view.mount, own);
    if (delegation_marked(dir) && may_manage(dir, view.euid)) {
      return {dir, "delegated subtree: confine's own cgroup (Delegate=yes)"};
    }
    const std::string above = parent_path(own);
    const std::string above_dir = dir_of(view.mount, above);
    if (above != "/" && delegation_marked(above_dir) && may_manage(above_dir, view.euid)) {
      return {above_dir, "delegated subtree: the cgroup above confine's " + own + " (Delegate=yes)"};
    }
  }
  // 2. The root of a cgroup namespace other than the host's (a container with its own cgroupfs):
  //    the whole visible tree is the container's, and a read-only one is not usable at all.
  if (own == "/" && !view.initial_cgroup_namespace) {
    if (may_manage(view.mount, view.euid)) return {view.mount, "the root of this cgroup namespace"};
    return {"", "the root of this cgroup namespace, which is not writable"};
  }
  // 3. Without root: confine's own cgroup when it was delegated to this user by ownership alone
  //    (a manager that chowns without marking; systemd before 251).
  if (!root) {
    if (!own.empty() && own != "/" && delegated_to(dir_of(view.mount, own), view.euid)) {
      return {dir_of(view.mount, own), "own cgroup, delegated to uid " + std::to_string(view.euid)};
    }
    return {"", "no cgroup delegated to uid " + std::to_string(view.euid)};
  }
  // 4. Root outside any delegated subtree: the shared parent at the top, created on first use.
  return where_root_can_create(view.mount + "/confine", kCgroupSharedSource);
}

}  // namespace confine::host
