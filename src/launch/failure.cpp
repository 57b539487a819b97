#include "failure.h"

#include <cstring>
#include <string>

namespace confine::launch {
namespace {


bool is_mount_step(child::Step step) {
  switch (step) {
    case child::Step::kOpenTree:
    case child::Step::kMountpoint:
    case child::Step::kMount:
    case child::Step::kMountAttr:
    case child::Step::kSymlink:
    case child::Step::kProc:
    case child::Step::kDev:
    case child::Step::kLandlockRule:
      return true;
    default:
      return false;
  }
}

}  // namespace

report::SetupFailure describe_failure(const child::ErrorRecord& record, const plan::Plan& plan) {
  report::SetupFailure f;
  f.sys_errno = record.sys_errno;
  const char* step = child::step_name(record.step);
  std::string what = step;
  if (is_mount_step(record.step) && record.index < plan.mounts.size()) {
    const plan::MountOp& op = plan.mounts[record.index];
    f.path = op.target;
    what = std::string(plan::to_string(op.kind)) + "[" + std::to_string(record.index) + "] " + op.target;
    if (op.kind == plan::MountKind::kBind) what += op.read_only ? " (ro" : " (rw";
    else what += " (";
    what += op.origin.empty() ? ")" : (op.kind == plan::MountKind::kBind ? ", " : "") + op.origin + ")";
    what += ": ";
    what += step;
  } else if (record.step == child::Step::kLandlockRule && record.index == plan.mounts.size()) {
    f.path = "/";
    what = "the new root: " + what;
  } else if (record.step == child::Step::kDevNode && record.index < child::kDevNodeCount) {
    f.path = std::string("/dev/") + child::kDevNodes[record.index];
    what = "dev node " + f.path;
  } else if (record.step == child::Step::kChdir) {
    f.path = plan.cwd;
    what = "chdir " + plan.cwd;
  } else if (record.step == child::Step::kRlimit && record.index < plan.rlimits.size()) {
    what = "rlimit " + plan.rlimits[record.index].name;
  } else if (record.step == child::Step::kUcounts && record.index < plan.ucount_limits.size()) {
    f.path = "/proc/sys/user/" + plan.ucount_limits[record.index].first;
    what = "ucount limit " + f.path;
  } else if (record.step == child::Step::kExec) {
    f.path = plan.exec_path;
    what = "execve " + plan.exec_path;
  }
  f.step = step;
  f.message = "setup failed at " + what;
  if (record.sys_errno != 0) {
    f.message += ": ";
    f.message += std::strerror(record.sys_errno);
  }
  return f;
}

}  // namespace confine::launch
