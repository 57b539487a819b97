// The Landlock layer, compiled from the same planned mounts as the new root (docs/security.md,
// "Landlock"). Every mount that shows host content or holds the job's files gets a rule on its
// root: read-only binds read and execute, read-write binds and tmpfs every file operation but
// device nodes, /dev its five devices, /proc read and write. The new root itself may only be
// listed. Nothing else is reachable, even if a mount were ever wrong: a host tree mounted where
// no rule covers it, or a directory fd leaked into the sandbox, opens nothing.
//
// Rules attach to inodes. A bind shares its host inodes, and the child adds the rule on the very
// tree it clones (so the rule and the bind cannot disagree); tmpfs, /dev and /proc do not exist
// before the child creates them, so it adds theirs right after. Masks get no rule: Landlock cannot
// deny beneath an allowed tree, so they stay mount-based and inherit their parent's rule.
#include <algorithm>
#include <string>

#include "confine/landlock.h"
#include "steps.h"

namespace confine::plan::steps {
namespace {

using namespace confine::landlock;

// The rule a mount's root gets, before masking to the ABI.
uint64_t rights_for(const MountOp& op) {
  switch (op.kind) {
    case MountKind::kBind: {
      const uint64_t rights = op.read_only ? kReadOnly : kReadWrite;
      return op.source_is_dir ? rights : rights & kFileRights;
    }
    case MountKind::kTmpfs: return kReadWrite;
    // The /dev tmpfs is read-only and holds only the device nodes (each with its own rule, see
    // LandlockRuleset::dev_node_access) and the fd links: listing it, and the devices' rights.
    case MountKind::kDev: return kReadDir | kDevice;
    case MountKind::kProc: return kProc;
    case MountKind::kSymlink:
    case MountKind::kMaskDir:
    case MountKind::kMaskFile: return 0;
  }
  return 0;
}

}  // namespace

std::string landlock_rights_text(uint64_t rights) {
  static constexpr struct {
    uint64_t bit;
    const char* name;
  } kNames[] = {{kExecute, "execute"},       {kWriteFile, "write_file"},   {kReadFile, "read_file"},
                {kReadDir, "read_dir"},      {kRemoveDir, "remove_dir"},   {kRemoveFile, "remove_file"},
                {kMakeChar, "make_char"},    {kMakeDir, "make_dir"},       {kMakeReg, "make_reg"},
                {kMakeSock, "make_sock"},    {kMakeFifo, "make_fifo"},     {kMakeBlock, "make_block"},
                {kMakeSym, "make_sym"},      {kRefer, "refer"},            {kTruncate, "truncate"},
                {kIoctlDev, "ioctl_dev"}};
  std::string out;
  for (const auto& entry : kNames) {
    if ((rights & entry.bit) == 0) continue;
    if (!out.empty()) out += ',';
    out += entry.name;
  }
  return out.empty() ? "none" : out;
}

Expected<Landlock> plan_landlock(const policy::Policy& policy, const HostFacts& host, std::vector<MountOp>& mounts) {
  Landlock out;
  const auto& enforcement = policy.enforcement.landlock;
  out.protection = {"landlock", "enforced", "Landlock", ""};
  for (MountOp& op : mounts) op.landlock_access = 0;

  // A kernel newer than confine is used at the ABI confine knows (landlock::kKnownAbi).
  const int abi = std::min(host.landlock_abi, kKnownAbi);
  if (abi <= 0) {
    if (enforcement.value == policy::Enforcement::kRequired) {
      return fail(ErrorCode::kUnsupported,
                  "Landlock is not available on this host (enforcement.landlock = required at " +
                      enforcement.origin.str() + ")",
                  std::string(kEnableFix) + "; or set enforcement.landlock = \"best-effort\" to rely on the "
                                            "mount namespace alone");
    }
    out.protection.status = "best_effort_skipped";
    out.protection.detail = "Landlock is not available on this host";
    out.warnings.push_back(
        "Landlock is not available on this host: the filesystem allow-list rests on the mount namespace "
        "alone (enforcement.landlock is best-effort; `confine doctor` says how to enable it)");
    return out;
  }

  LandlockRuleset ruleset;
  ruleset.abi = abi;
  ruleset.handled_fs = fs_rights(abi);
  const bool no_network = policy.network.mode.value == policy::NetworkMode::kNone;
  // TCP: handled with no rule at all, so every bind and connect is denied (EACCES). Only with
  // network.mode = "none": with "host" the job is meant to reach the network.
  if (no_network) ruleset.handled_net = net_rights(abi);
  // Signals never leave the sandbox's Landlock domain. Abstract unix sockets belong to the
  // network namespace, so they are scoped exactly when the network is: with "host" the policy
  // shares the host's (docs/policy.md).
  ruleset.scoped = scopes(abi) & (no_network ? ~uint64_t{0} : ~kScopeAbstractUnixSocket);
  ruleset.root_access = kReadDir & ruleset.handled_fs;

  size_t ro = 0, rw = 0, own = 0;
  bool dev = false;
  for (MountOp& op : mounts) {
    op.landlock_access = rights_for(op) & ruleset.handled_fs;
    if (op.landlock_access == 0) continue;
    if (op.kind == MountKind::kBind) {
      (op.read_only ? ro : rw) += 1;
    } else {
      ++own;
    }
    dev = dev || op.kind == MountKind::kDev;
  }
  if (dev) ruleset.dev_node_access = kDevice & ruleset.handled_fs;

  std::string detail = plural(ro, "read-only path") + ", " + plural(rw, "read-write path") + ", " +
                       plural(own, "sandbox mount") + "; nothing else opens";
  detail += no_network ? (ruleset.handled_net != 0 ? "; TCP bind and connect denied" : "; TCP not handled before ABI 4")
                       : "; TCP not handled (network.mode = host)";
  if ((ruleset.scoped & kScopeSignal) != 0) {
    detail += (ruleset.scoped & kScopeAbstractUnixSocket) != 0
                  ? "; signals and abstract unix sockets scoped to the sandbox"
                  : "; signals scoped to the sandbox";
  } else {
    detail += "; no IPC scoping before ABI 6";
  }
  if (abi == 1) {
    detail += "; no rename or link across directories (ABI 1)";
    out.warnings.push_back(
        "Landlock ABI 1 (Linux 5.13 to 5.18) refuses to rename or link files across directories: the job "
        "gets EXDEV for that (mv falls back to copying; os.rename does not). Linux 5.19 (ABI 2) lifts it");
  }
  out.protection.mechanism = "Landlock ABI " + std::to_string(abi) + " (landlock_restrict_self)";
  out.protection.detail = std::move(detail);
  out.ruleset = ruleset;
  return out;
}

}  // namespace confine::plan::steps
