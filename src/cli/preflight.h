// Checks before the run for what the plan cannot see: the host-side ownership of the paths a
// job writes. Each finding is a warning (the job may not need to write there), with the fix.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "confine/plan.h"

namespace confine::cli {

// stat(2) of a host path; nullopt when it fails. Injected so tests can fake ownership.
using StatPath = std::function<std::optional<struct stat>(const std::string& path)>;
[[nodiscard]] std::optional<struct stat> stat_path(const std::string& path);

// One warning per read-write directory bind the sandbox's host uid cannot write to (by owner,
// group and mode bits; ACLs aside), with the chown that fixes it: run by root, the job is host uid
// process.host_uid (65534), which owns nothing until someone chowns the job directory to it.
[[nodiscard]] std::vector<std::string> unwritable_job_directories(const plan::Plan& plan, bool run_by_root,
                                                                  const StatPath& stat);

}  // namespace confine::cli
