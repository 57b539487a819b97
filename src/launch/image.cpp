#include "image.h"

#include <sched.h>

#include "confine/host.h"

namespace confine::launch {
namespace {

child::MountKind to_child(plan::MountKind kind) {
  switch (kind) {
    case plan::MountKind::kBind: return child::MountKind::kBind;
    case plan::MountKind::kTmpfs: return child::MountKind::kTmpfs;
    case plan::MountKind::kDev: return child::MountKind::kDev;
    case plan::MountKind::kProc: return child::MountKind::kProc;
    case plan::MountKind::kSymlink: return child::MountKind::kSymlink;
    case plan::MountKind::kMaskDir: return child::MountKind::kMaskDir;
    case plan::MountKind::kMaskFile: return child::MountKind::kMaskFile;
  }
  return child::MountKind::kBind;
}

int read_cap_last() {
  const auto last = host::read_number("/proc/sys/kernel/cap_last_cap");
  return last && *last > 0 && *last < 64 ? static_cast<int>(*last) : 40;
}

}  // namespace

const char* ChildImage::keep(std::string s) {
  strings_.push_back(std::move(s));
  return strings_.back().c_str();
}

Expected<std::unique_ptr<ChildImage>> ChildImage::build(const plan::Plan& plan) {
  std::unique_ptr<ChildImage> out(new ChildImage());
  ChildImage& c = *out;
  if (plan.mounts.size() > child::kMaxMountSteps) {
    return fail(ErrorCode::kInvalidArgument, "the plan has " + std::to_string(plan.mounts.size()) +
                                                 " mount steps; at most " + std::to_string(child::kMaxMountSteps) + " are supported");
  }
  for (const auto& op : plan.mounts) {
    if (op.target.size() < 2 || op.target.front() != '/') {
      return fail(ErrorCode::kInvalidArgument, "cannot mount at '" + op.target + "' (" + op.origin +
                                                   "): the sandbox root is always a fresh tmpfs; list the directories to expose instead of /");
    }
    child::MountStep step;
    step.kind = to_child(op.kind);
    step.read_only = op.read_only;
    step.is_dir = op.source_is_dir;
    step.source = op.source.empty() ? nullptr : c.keep(op.source);
    step.target = c.keep(op.target.substr(1));
    switch (op.kind) {
      case plan::MountKind::kTmpfs:
        step.size = c.keep(std::to_string(op.size_bytes));
        step.mode = c.keep("01777");
        break;
      case plan::MountKind::kDev:
        step.size = c.keep("65536");
        step.mode = c.keep("0755");
        break;
      case plan::MountKind::kMaskDir:
        step.size = c.keep("4096");
        step.mode = c.keep("0000");
        break;
      default:
        break;
    }
    c.steps_.push_back(step);
  }
  for (const auto& r : plan.rlimits) c.rlimits_.push_back(child::Rlimit{r.resource, r.soft, r.hard});
  for (const auto& a : plan.argv) c.argv_.push_back(const_cast<char*>(c.keep(a)));
  c.argv_.push_back(nullptr);
  for (const auto& e : plan.envp) c.envp_.push_back(const_cast<char*>(c.keep(e)));
  c.envp_.push_back(nullptr);

  child::Image& img = c.image_;
  img.mounts = c.steps_.data();
  img.mount_count = c.steps_.size();
  img.uid = plan.uid;
  img.gid = plan.gid;
  img.new_net = (plan.clone_flags & CLONE_NEWNET) != 0;
  img.hostname = c.keep(plan.hostname);
  img.hostname_len = plan.hostname.size();
  img.cwd = c.keep(plan.cwd.empty() ? "/" : plan.cwd);
  img.rlimits = c.rlimits_.data();
  img.rlimit_count = c.rlimits_.size();
  img.keep_caps = plan.keep_caps;
  img.cap_last = read_cap_last();
  if (plan.seccomp) {
    c.seccomp_.len = static_cast<unsigned short>(plan.seccomp->instructions.size());
    c.seccomp_.filter = const_cast<sock_filter*>(plan.seccomp->instructions.data());
    img.seccomp = &c.seccomp_;
  }
  img.exec_path = c.keep(plan.exec_path);
  img.argv = c.argv_.data();
  img.envp = c.envp_.data();
  return out;
}

}  // namespace confine::launch
