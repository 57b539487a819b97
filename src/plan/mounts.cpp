// The mount list: policy path rules turned into an ordered list of mount operations.
//
// Every host path is walked component by component without following symlinks. A symlink in the
// middle of a path would make the bind land somewhere the policy never named (and a writable
// tree could swap it between plan and mount), so it is an error; a symlink at the end is
// recreated inside the new root, where it resolves only against what the sandbox contains.
#include <algorithm>
#include <map>
#include <string>

#include "confine/plan.h"
#include "paths.h"
#include "steps.h"

namespace confine::plan::steps {
namespace {

// The outcome of walking a host path.
struct Walk {
  FileKind kind = FileKind::kMissing;  // of the final component
  std::string through_symlink;         // set when an intermediate component is a symlink
};

Walk walk(const HostFacts& host, const std::string& path) {
  const auto parts = paths::components(path);
  if (parts.empty()) return {host.file_kind("/"), {}};
  std::string prefix;
  for (size_t i = 0; i < parts.size(); ++i) {
    prefix += '/';
    prefix += parts[i];
    const FileKind kind = host.file_kind(prefix);
    if (i + 1 == parts.size()) return {kind, {}};
    if (kind == FileKind::kSymlink) return {FileKind::kSymlink, prefix};
    // A component that is no directory (or is missing) means the path cannot exist (ENOTDIR).
    if (kind != FileKind::kDirectory) return {FileKind::kMissing, {}};
  }
  return {FileKind::kMissing, {}};
}

std::string located(const policy::Origin& origin, std::string_view key) {
  return origin.str() + ": " + std::string(key) + ": ";
}

unexpected<Error> through_symlink_error(const HostFacts& host, const std::string& prefix,
                                        const std::string& path, const policy::Origin& origin,
                                        std::string_view key) {
  const auto text = host.read_link(prefix);
  return fail(ErrorCode::kInvalidArgument,
              located(origin, key) + path + " goes through the symlink " + prefix + " -> " +
                  text.value_or("?") + "; name the real path instead",
              "a symlink could redirect the mount somewhere the policy never named");
}

// Rules at or below /dev and /proc would be hidden or clobbered by the fresh mounts there.
Expected<void> check_special(const policy::Policy& policy, const std::string& path,
                             const policy::Origin& origin, std::string_view key) {
  const struct {
    const char* dir;
    const policy::Sourced<bool>& on;
    const char* option;
  } specials[] = {{"/dev", policy.filesystem.dev, "filesystem.dev"},
                  {"/proc", policy.filesystem.proc, "filesystem.proc"}};
  for (const auto& special : specials) {
    if (special.on.value && paths::is_within(path, special.dir)) {
      return fail(ErrorCode::kInvalidArgument,
                  located(origin, key) + path + " is under " + special.dir + ", which " +
                      special.option + " = true replaces with a fresh mount",
                  std::string("remove this rule, or set ") + special.option +
                      " = false if the sandbox really needs the host's " + special.dir);
    }
  }
  return {};
}

bool is_tree_mount(MountKind kind) {
  return kind == MountKind::kBind || kind == MountKind::kTmpfs || kind == MountKind::kDev ||
         kind == MountKind::kProc;
}


// Collects ops by target, refusing two different operations at the same place.
class OpSet {
 public:
  Expected<void> add(MountOp op, std::string_view key) {
    auto [it, inserted] = ops_.try_emplace(op.target, op);
    if (inserted) return {};
    const MountOp& old = it->second;
    if (old.kind == op.kind && old.read_only == op.read_only) return {};  // a repeat: harmless
    return fail(ErrorCode::kInvalidArgument,
                op.origin + ": " + std::string(key) + ": " + op.target + " is already mounted as " +
                    to_string(old.kind) + (old.read_only ? " (ro)" : " (rw)") + " by the rule at " +
                    old.origin,
                "list each path once: either read-only or read-write");
  }
  [[nodiscard]] std::vector<MountOp> take() {
    std::vector<MountOp> out;
    for (auto& [target, op] : ops_) out.push_back(std::move(op));
    ops_.clear();
    return out;
  }
  [[nodiscard]] const std::map<std::string, MountOp>& ops() const { return ops_; }

 private:
  std::map<std::string, MountOp> ops_;
};

Expected<void> add_path_rules(const policy::Policy& policy, const HostFacts& host,
                              const std::vector<policy::PathRule>& rules, bool read_only,
                              OpSet& binds, OpSet& links, std::vector<std::string>& warnings) {
  const std::string_view key = read_only ? "filesystem.ro" : "filesystem.rw";
  for (const policy::PathRule& rule : rules) {
    if (auto ok = check_special(policy, rule.path, rule.origin, key); !ok) return ok;
    const Walk w = walk(host, rule.path);
    if (!w.through_symlink.empty()) {
      return through_symlink_error(host, w.through_symlink, rule.path, rule.origin, key);
    }
    MountOp op;
    op.target = rule.path;
    op.source = rule.path;
    op.read_only = read_only;
    op.origin = rule.origin.str();
    switch (w.kind) {
      case FileKind::kMissing:
        if (rule.optional) {
          warnings.push_back(located(rule.origin, key) + rule.path +
                             " does not exist on this host; skipped (optional)");
          continue;
        }
        return fail(ErrorCode::kNotFound,
                    located(rule.origin, key) + rule.path + " does not exist on this host",
                    "create it, correct the path, or mark the rule optional = true");
      case FileKind::kSymlink: {
        const auto text = host.read_link(rule.path);
        if (!text) {
          return fail(ErrorCode::kSystem,
                      located(rule.origin, key) + "cannot read the symlink " + rule.path);
        }
        if (!read_only) {
          // A read-only symlink (/bin -> usr/bin) is recreated inside, where it resolves only
          // against what the sandbox holds. A read-write path is where the job writes: a link
          // there would point at nothing inside, or make the caller believe a directory is
          // shared when it is not. Refuse it and name the real path.
          return fail(ErrorCode::kInvalidArgument,
                      located(rule.origin, key) + rule.path + " is a symlink (-> " + *text +
                          "); a read-write path must be the real directory",
                      "pass the path the symlink points to, resolved (realpath " + rule.path + ")");
        }
        op.kind = MountKind::kSymlink;
        op.source = *text;
        op.source_is_dir = false;
        if (auto ok = links.add(std::move(op), key); !ok) return ok;
        continue;
      }
      case FileKind::kDirectory:
      case FileKind::kRegular:
      case FileKind::kCharDevice:
        op.kind = MountKind::kBind;
        op.source_is_dir = w.kind == FileKind::kDirectory;
        if (auto ok = binds.add(std::move(op), key); !ok) return ok;
        continue;
      case FileKind::kOther:
        return fail(ErrorCode::kInvalidArgument,
                    located(rule.origin, key) + rule.path +
                        " is a socket, fifo or other special file; binding a socket exposes a "
                        "host service to the sandbox",
                    "bind only directories, regular files and character devices");
    }
  }
  return {};
}

Expected<void> add_tmpfs_rules(const policy::Policy& policy, const HostFacts& host, OpSet& trees) {
  constexpr std::string_view key = "filesystem.tmpfs";
  for (const policy::TmpfsRule& rule : policy.filesystem.tmpfs) {
    if (auto ok = check_special(policy, rule.path, rule.origin, key); !ok) return ok;
    // Below a bind the mountpoint must already exist on the host: confine never creates
    // directories in a host tree, and a read-only bind could not take one anyway.
    std::vector<MountOp> so_far;
    for (const auto& [target, op] : trees.ops()) so_far.push_back(op);
    const MountOp* cover = covering_mount(so_far, rule.path);
    if (cover != nullptr && cover->kind == MountKind::kBind && cover->target != rule.path) {
      const Walk w = walk(host, rule.path);
      if (!w.through_symlink.empty()) {
        return through_symlink_error(host, w.through_symlink, rule.path, rule.origin, key);
      }
      if (w.kind != FileKind::kDirectory) {
        return fail(ErrorCode::kNotFound,
                    located(rule.origin, key) + rule.path + " lies inside the bind of " +
                        cover->target + " but is not a directory on this host",
                    "create the directory on the host, or put the tmpfs elsewhere");
      }
    }
    MountOp op;
    op.kind = MountKind::kTmpfs;
    op.source = "tmpfs";
    op.target = rule.path;
    op.read_only = false;
    op.source_is_dir = true;
    op.size_bytes = rule.size_bytes;
    op.inodes = policy::tmpfs_inodes(rule);
    op.mode = 01777;  // like /tmp: anyone may create, only owners may delete
    op.origin = rule.origin.str();
    if (auto ok = trees.add(std::move(op), key); !ok) return ok;
  }
  return {};
}

// The output area: a tmpfs like the others, capped in size and in files, marked so the child
// hands it to the parent for the copy-out.
Expected<void> add_output_area(const policy::Policy& policy, OpSet& trees) {
  const auto& area = policy.filesystem.output;
  if (!area) return {};
  const std::string where = area->origin.str();
  if (area->host.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                where + ": filesystem.output: the output area has no host directory to copy its files into",
                "give one with host = \"/srv/results/42\" or --output DIR");
  }
  MountOp op;
  op.kind = MountKind::kTmpfs;
  op.source = "tmpfs";
  op.target = area->path;
  op.read_only = false;
  op.source_is_dir = true;
  op.size_bytes = area->size_bytes;
  op.inodes = area->files + 1;  // the area's own root directory counts too
  op.mode = 01777;
  op.origin = where;
  op.output_area = true;
  return trees.add(std::move(op), "filesystem.output");
}

Expected<void> add_deny_rules(const policy::Policy& policy, const HostFacts& host,
                              const std::vector<MountOp>& visible, OpSet& masks,
                              std::vector<std::string>& warnings) {
  constexpr std::string_view key = "filesystem.deny";
  for (const policy::PathRule& rule : policy.filesystem.deny) {
    const MountOp* cover = covering_mount(visible, rule.path);
    // A mask only matters over host content: binds, and the fresh /proc (whose files, such as
    // /proc/sys, a policy may want hidden). Anything else is not in the sandbox at all.
    if (cover == nullptr || cover->kind == MountKind::kTmpfs || cover->kind == MountKind::kDev) {
      warnings.push_back(located(rule.origin, key) + rule.path +
                         " is not visible in the sandbox anyway; no mask needed");
      continue;
    }
    if (cover->kind == MountKind::kSymlink) {
      return through_symlink_error(host, cover->target, rule.path, rule.origin, key);
    }
    const Walk w = walk(host, rule.path);
    if (!w.through_symlink.empty()) {
      return through_symlink_error(host, w.through_symlink, rule.path, rule.origin, key);
    }
    MountOp op;
    op.target = rule.path;
    op.read_only = true;
    op.origin = rule.origin.str();
    switch (w.kind) {
      case FileKind::kMissing:
        warnings.push_back(located(rule.origin, key) + rule.path +
                           " does not exist on this host; no mask needed");
        continue;
      case FileKind::kSymlink:
        return fail(ErrorCode::kInvalidArgument,
                    located(rule.origin, key) + rule.path + " is a symlink (-> " +
                        host.read_link(rule.path).value_or("?") + "); deny the real path instead",
                    "a mask over a symlink would cover whatever it points to at mount time");
      case FileKind::kDirectory:
        op.kind = MountKind::kMaskDir;
        op.source = "tmpfs";
        op.mode = 0;
        op.source_is_dir = true;
        break;
      default:
        op.kind = MountKind::kMaskFile;
        op.source = "empty";
        op.mode = 0;
        op.source_is_dir = false;
        break;
    }
    if (auto ok = masks.add(std::move(op), key); !ok) return ok;
  }
  return {};
}

// What container runtimes mask in /proc and /sys by default (runc's and Docker's masked paths):
// host-wide files a pid namespace does not scope. /proc/acpi lists the machine's wakeup devices,
// /proc/kcore is the kernel's memory as a core file, /proc/keys the keys of every keyring the
// kernel shows the caller, /proc/timer_list and /proc/sched_debug every CPU's timers and tasks,
// /proc/interrupts per-CPU interrupt counts (a keystroke-timing side channel). Each is masked
// whenever it exists and the sandbox shows it, whatever the policy says.
constexpr std::string_view kBuiltinMasks[] = {
    "/proc/acpi",        "/proc/asound",   "/proc/interrupts", "/proc/kcore",     "/proc/keys",
    "/proc/latency_stats", "/proc/scsi",   "/proc/sched_debug", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sysrq-trigger", "/sys/firmware", "/sys/devices/virtual/powercap",
};

Expected<void> add_builtin_masks(const HostFacts& host, const std::vector<MountOp>& visible, OpSet& masks) {
  for (std::string_view path_view : kBuiltinMasks) {
    const std::string path(path_view);
    const MountOp* cover = covering_mount(visible, path);
    if (cover == nullptr || (cover->kind != MountKind::kProc && cover->kind != MountKind::kBind)) continue;
    // The policy masks it already (a deny on the path or on a directory above it).
    const bool masked = std::any_of(masks.ops().begin(), masks.ops().end(),
                                    [&](const auto& entry) { return paths::is_within(path, entry.first); });
    if (masked) continue;
    const Walk w = walk(host, path);
    if (!w.through_symlink.empty() || w.kind == FileKind::kMissing || w.kind == FileKind::kSymlink) continue;
    MountOp op;
    op.target = path;
    op.read_only = true;
    op.origin = "built-in (the /proc and /sys files container runtimes mask)";
    op.mode = 0;
    op.kind = w.kind == FileKind::kDirectory ? MountKind::kMaskDir : MountKind::kMaskFile;
    op.source = w.kind == FileKind::kDirectory ? "tmpfs" : "empty";
    op.source_is_dir = w.kind == FileKind::kDirectory;
    if (auto ok = masks.add(std::move(op), "built-in mask"); !ok) return ok;
  }
  return {};
}

void sort_by_target(std::vector<MountOp>& ops) {
  std::stable_sort(ops.begin(), ops.end(), [](const MountOp& a, const MountOp& b) {
    return paths::component_less(a.target, b.target);
  });
}

}  // namespace

const MountOp* covering_mount(const std::vector<MountOp>& mounts, const std::string& path) {
  const MountOp* best = nullptr;
  size_t best_depth = 0;
  for (const MountOp& op : mounts) {
    if (!is_tree_mount(op.kind) && op.kind != MountKind::kSymlink) continue;
    if (!paths::is_within(path, op.target)) continue;
    const size_t depth = paths::component_count(op.target);
    if (best == nullptr || depth > best_depth) {
      best = &op;
      best_depth = depth;
    }
  }
  return best;
}

const MountOp* masking_mount(const std::vector<MountOp>& mounts, const std::string& path) {
  for (const MountOp& op : mounts) {
    if ((op.kind == MountKind::kMaskDir || op.kind == MountKind::kMaskFile) &&
        paths::is_within(path, op.target)) {
      return &op;
    }
  }
  return nullptr;
}

Expected<std::vector<MountOp>> plan_mounts(const policy::Policy& policy, const HostFacts& host,
                                           std::vector<std::string>& warnings) {
  OpSet trees;  // binds, tmpfs, /dev, /proc
  OpSet links;
  if (auto ok = add_path_rules(policy, host, policy.filesystem.ro, true, trees, links, warnings); !ok) {
    return unexpected(ok.error());
  }
  if (auto ok = add_path_rules(policy, host, policy.filesystem.rw, false, trees, links, warnings); !ok) {
    return unexpected(ok.error());
  }
  if (auto ok = add_tmpfs_rules(policy, host, trees); !ok) return unexpected(ok.error());
  if (auto ok = add_output_area(policy, trees); !ok) return unexpected(ok.error());
  if (policy.filesystem.dev.value) {
    MountOp dev;
    dev.kind = MountKind::kDev;
    dev.source = "tmpfs";
    dev.target = "/dev";
    dev.read_only = false;
    dev.origin = policy.filesystem.dev.origin.str();
    if (auto ok = trees.add(std::move(dev), "filesystem.dev"); !ok) return unexpected(ok.error());
  }
  if (policy.filesystem.proc.value) {
    MountOp proc;
    proc.kind = MountKind::kProc;
    proc.source = "proc";
    proc.target = "/proc";
    proc.read_only = false;
    proc.origin = policy.filesystem.proc.origin.str();
    if (auto ok = trees.add(std::move(proc), "filesystem.proc"); !ok) return unexpected(ok.error());
  }

  std::vector<MountOp> tree_ops = trees.take();
  std::vector<MountOp> link_ops;
  for (MountOp& link : links.take()) {
    const MountOp* cover = covering_mount(tree_ops, link.target);
    if (cover != nullptr && cover->kind == MountKind::kBind) {
      // The bind already contains this very symlink; recreating it would write into a host tree.
      continue;
    }
    if (std::any_of(tree_ops.begin(), tree_ops.end(),
                    [&](const MountOp& op) { return op.target == link.target; })) {
      return fail(ErrorCode::kInvalidArgument,
                  link.origin + ": " + link.target + " is a symlink on the host but another rule mounts over it",
                  "name the symlink's real target in the other rule");
    }
    link_ops.push_back(std::move(link));
  }
  // Nothing may be mounted through a recreated symlink: the mount would land at the link's
  // target inside the sandbox, not where the rule says.
  for (const MountOp& op : tree_ops) {
    for (const MountOp& link : link_ops) {
      if (paths::is_within(op.target, link.target) && op.target != link.target) {
        return fail(ErrorCode::kInvalidArgument,
                    op.origin + ": " + op.target + " goes through the symlink " + link.target +
                        " -> " + link.source + "; name the real path instead");
      }
    }
  }

  std::vector<MountOp> visible = tree_ops;
  visible.insert(visible.end(), link_ops.begin(), link_ops.end());
  OpSet masks;
  if (auto ok = add_deny_rules(policy, host, visible, masks, warnings); !ok) return unexpected(ok.error());
  if (auto ok = add_builtin_masks(host, visible, masks); !ok) return unexpected(ok.error());
  std::vector<MountOp> mask_ops = masks.take();

  sort_by_target(tree_ops);
  sort_by_target(link_ops);
  sort_by_target(mask_ops);
  std::vector<MountOp> out = std::move(tree_ops);
  out.insert(out.end(), link_ops.begin(), link_ops.end());
  out.insert(out.end(), mask_ops.begin(), mask_ops.end());
  return out;
}

bool shows_host_directory(const std::vector<MountOp>& mounts, const HostFacts& host, const std::string& dir) {
  if (dir.empty() || dir.front() != '/' || masking_mount(mounts, dir) != nullptr) return false;
  const MountOp* cover = covering_mount(mounts, dir);
  if (cover == nullptr || cover->kind != MountKind::kBind) return false;
  const Walk w = walk(host, dir);
  return w.through_symlink.empty() && w.kind == FileKind::kDirectory;
}

Expected<void> check_cwd(const policy::Policy& policy, const std::vector<MountOp>& mounts,
                         const HostFacts& host) {
  const std::string& cwd = policy.process.cwd.value;
  const std::string where = located(policy.process.cwd.origin, "process.cwd");
  if (const MountOp* mask = masking_mount(mounts, cwd)) {
    return fail(ErrorCode::kInvalidArgument,
                where + cwd + " is hidden by the deny rule at " + mask->origin,
                "choose a working directory outside denied paths");
  }
  if (cwd == "/") return {};  // the new root itself always exists
  const MountOp* cover = covering_mount(mounts, cwd);
  const std::string hint = "make it visible with --ro " + cwd + " or --rw " + cwd +
                           ", or choose a cwd under an allowed path";
  if (cover == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                where + cwd + " is not visible inside the sandbox (no ro, rw or tmpfs rule covers it)",
                hint);
  }
  switch (cover->kind) {
    case MountKind::kBind: {
      const Walk w = walk(host, cwd);
      if (!w.through_symlink.empty()) {
        return through_symlink_error(host, w.through_symlink, cwd, policy.process.cwd.origin,
                                     "process.cwd");
      }
      if (w.kind != FileKind::kDirectory) {
        return fail(ErrorCode::kNotFound, where + cwd + " is not a directory on this host", hint);
      }
      return {};
    }
    case MountKind::kSymlink:
      return {};  // resolved inside the sandbox, like any path through the link
    default:
      if (cover->target == cwd) return {};
      return fail(ErrorCode::kInvalidArgument,
                  where + cwd + " would be inside the fresh " + to_string(cover->kind) + " at " +
                      cover->target + ", which starts empty",
                  hint);
  }
}

}  // namespace confine::plan::steps
