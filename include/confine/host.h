// The host: what this machine and this user can do, probed once per run and handed to
// plan::make_plan as HostFacts. Probing only reads (procfs, sysfs, lstat); it never creates,
// writes or removes anything, so it is safe to run for `--dry-run` and `confine doctor`.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confine/plan.h"

namespace confine::host {

// Probes the real host. Facts that cannot be determined are reported as unavailable (false,
// empty, 0), so the planner fails closed on them.
[[nodiscard]] plan::HostFacts probe();

// The pieces of probe(), exposed so tests can feed them fixed text.

// The cgroup2 mount point from /proc/self/mountinfo text: /sys/fs/cgroup when it is cgroup2,
// else the first cgroup2 mount (e.g. /sys/fs/cgroup/unified on hybrid hosts); empty if none.
[[nodiscard]] std::string cgroup2_mount_from_mountinfo(std::string_view mountinfo);
// The unified-hierarchy path ("/user.slice/...") from /proc/self/cgroup text ("0::/path");
// empty when there is no such line.
[[nodiscard]] std::string unified_cgroup_from_proc(std::string_view proc_self_cgroup);
// Rootless cgroups: true when the cgroup directory `dir` was delegated to `uid` the way systemd's
// Delegate=yes does it: the directory, its cgroup.procs and its cgroup.subtree_control are owned
// by `uid` and owner-writable. Then `uid` may move processes between cgroups below `dir`, create
// leaves in it and enable controllers for them (docs/cgroups.md). Only stats, never writes.
[[nodiscard]] bool delegated_to(const std::string& dir, uid_t uid);
// Where job leaves go (docs/cgroups.md, "Where the leaves go"), from what this process sees.
// Reads the cgroupfs under `mount` (stat, getxattr, access), so tests can point it at a fake one.
struct CgroupView {
  uid_t euid = 0;
  std::string mount;            // the cgroup2 mount; empty: none
  std::string own;              // this process's cgroup, the "0::" path of /proc/self/cgroup
  std::string override_parent;  // $CONFINE_CGROUP_PARENT; honoured for root only
  bool initial_cgroup_namespace = true;  // false in a container with a cgroup namespace of its own
};
struct CgroupPlacement {
  std::string parent;  // the directory leaves go in; empty: no cgroup confine may use
  std::string source;  // why there (or why none), for the report and `confine doctor`
};
inline constexpr const char* kCgroupOverrideSource = "CONFINE_CGROUP_PARENT";
inline constexpr const char* kCgroupSharedSource = "<cgroup2 mount>/confine";
[[nodiscard]] CgroupPlacement place_cgroup(const CgroupView& view);
// systemd's mark on the cgroup of a unit with Delegate=yes (systemd 251+): the extended attribute
// trusted.delegate or user.delegate is "1".
[[nodiscard]] bool delegation_marked(const std::string& dir);
// True when this process is in the host's own cgroup namespace (/proc/self/ns/cgroup is the
// initial one's, inode PROC_CGROUP_INIT_INO); also true when that cannot be read.
[[nodiscard]] bool in_initial_cgroup_namespace();

// The AppArmor label of this process, from /proc/self/attr/apparmor/current (or attr/current):
// "unconfined", or "confine (unconfined)" when confine's profile is attached; empty when AppArmor
// is not the active LSM. Ubuntu's userns restriction spares exactly the processes with a profile.
[[nodiscard]] std::string apparmor_label();

// A small /proc or /sys file's whole text, or nullopt when it cannot be read.
[[nodiscard]] std::optional<std::string> read_text(const std::string& path);
// The leading integer of such a file, or nullopt.
[[nodiscard]] std::optional<long> read_number(const std::string& path);

// Whitespace-separated words, as in cgroup.controllers.
[[nodiscard]] std::vector<std::string> words(std::string_view text);

// Filesystem probes backing HostFacts::file_kind, read_link and executable.
[[nodiscard]] plan::FileKind file_kind(const std::string& path);  // lstat: a final symlink is kSymlink
[[nodiscard]] std::optional<std::string> read_link(const std::string& path);
// The first `count` bytes of a regular file (plan::ReadHead): opened with O_NOFOLLOW and
// O_NONBLOCK, so a final symlink or a FIFO the job planted can neither redirect nor stall it.
[[nodiscard]] std::optional<std::string> read_head(const std::string& path, size_t count);
// A regular file (after following symlinks) with any execute bit. Not access(2): the target runs
// as another uid, so the caller's own X_OK answer would be wrong.
[[nodiscard]] bool executable(const std::string& path);

}  // namespace confine::host
