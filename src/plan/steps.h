// The planner's steps, each a pure function of the policy and the (possibly fake) HostFacts.
// plan.cpp runs them in order and assembles the Plan; they live apart so each concern stays small.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "confine/error.h"
#include "confine/plan.h"
#include "confine/policy.h"
#include "confine/report.h"

namespace confine::plan::steps {

// mounts.cpp: the ordered mount list. Notes about skipped optional or irrelevant rules are
// appended to `warnings`.
[[nodiscard]] Expected<std::vector<MountOp>> plan_mounts(const policy::Policy& policy,
                                                         const HostFacts& host,
                                                         std::vector<std::string>& warnings);

// mounts.cpp: the mount whose target is the deepest ancestor-or-self of `path` among binds,
// tmpfs, /dev, /proc and recreated symlinks; nullptr when nothing covers it. Masks are ignored.
[[nodiscard]] const MountOp* covering_mount(const std::vector<MountOp>& mounts, const std::string& path);
// mounts.cpp: the mask hiding `path`, or nullptr.
[[nodiscard]] const MountOp* masking_mount(const std::vector<MountOp>& mounts, const std::string& path);

// mounts.cpp: the working directory must exist inside the new root.
[[nodiscard]] Expected<void> check_cwd(const policy::Policy& policy, const std::vector<MountOp>& mounts,
                                       const HostFacts& host);

// exec.cpp: the absolute path the child passes to execve.
[[nodiscard]] Expected<std::string> resolve_exec_path(const std::vector<std::string>& argv,
                                                      const std::string& cwd,
                                                      const std::vector<std::string>& envp,
                                                      const std::vector<MountOp>& mounts,
                                                      const HostFacts& host);

// resources.cpp: cgroup placement, control-file writes and the resource protections.
struct Resources {
  std::string cgroup_parent;
  std::vector<CgroupWrite> writes;
  std::optional<std::chrono::milliseconds> cpu_time;  // cleared when it cannot be measured
  report::Protection cgroup_tracking, memory_limit, swap_limit, pids_limit, cpu_limit, cpu_time_limit;
  std::vector<std::string> warnings;
};
[[nodiscard]] Expected<Resources> plan_resources(const policy::Policy& policy, const HostFacts& host);

// limits.cpp: rlimits and the capability mask.
[[nodiscard]] std::vector<Rlimit> plan_rlimits(const policy::Policy& policy);
[[nodiscard]] Expected<uint64_t> plan_keep_caps(const policy::Policy& policy);
// "CAP_NET_BIND_SERVICE CAP_CHOWN", or "none".
[[nodiscard]] std::string caps_text(uint64_t mask);
// "512M", "1536K", or the plain byte count when it is no whole binary multiple.
[[nodiscard]] std::string size_text(uint64_t bytes);

}  // namespace confine::plan::steps
