// render: the plan as stable, line-oriented text. It is what `--dry-run` prints and what the
// golden tests compare, so it holds no addresses, times or anything else that varies per run,
// values that could hold control characters are quoted, and secret-looking values are redacted.
#include <sched.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include "confine/landlock.h"
#include "confine/plan.h"
#include "steps.h"

namespace confine::plan {
namespace {

// "text" with \" \\ and control bytes escaped, so one value is always one line.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", byte);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}


std::string mode_text(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05o", mode);
  return buf;
}

std::string mount_line(size_t index, const MountOp& op) {
  std::string line = "  [" + std::to_string(index) + "] " + to_string(op.kind) + " " + op.target;
  switch (op.kind) {
    case MountKind::kBind:
      line += op.read_only ? " ro" : " rw";
      line += op.source_is_dir ? " dir" : " file";
      if (op.source != op.target) line += " source=" + op.source;
      break;
    case MountKind::kTmpfs:
      line += " rw size=" + (op.size_bytes ? steps::size_text(op.size_bytes) : std::string("default")) +
              (op.inodes ? " inodes=" + std::to_string(op.inodes) : std::string()) + " mode=" + mode_text(op.mode) +
              (op.output_area ? " output-area" : "");
      break;
    case MountKind::kSymlink:
      line += " -> " + op.source;
      break;
    case MountKind::kMaskDir:
    case MountKind::kMaskFile:
      line += " ro mode=" + mode_text(op.mode);
      break;
    case MountKind::kDev:
    case MountKind::kProc:
      break;
  }
  if (op.landlock_access != 0) line += " landlock=" + steps::landlock_rights_text(op.landlock_access);
  line += "  (" + op.origin + ")";
  return line;
}

std::string limit_text(uint64_t value) {
  return value == RLIM_INFINITY ? "unlimited" : std::to_string(value);
}

std::string namespaces_text(uint64_t flags) {
  static constexpr struct {
    uint64_t flag;
    const char* name;
  } kNames[] = {{CLONE_NEWUSER, "user"}, {CLONE_NEWNS, "mount"},    {CLONE_NEWPID, "pid"},
                {CLONE_NEWIPC, "ipc"},   {CLONE_NEWUTS, "uts"},     {CLONE_NEWCGROUP, "cgroup"},
                {CLONE_NEWNET, "net"}};
  std::string out;
  for (const auto& entry : kNames) {
    if ((flags & entry.flag) == 0) continue;
    if (!out.empty()) out += ' ';
    out += entry.name;
  }
  return out;
}

std::string duration_text(const std::optional<std::chrono::milliseconds>& d) {
  return d ? std::to_string(d->count()) + "ms" : "none";
}

}  // namespace

const char* to_string(MountKind kind) {
  switch (kind) {
    case MountKind::kBind: return "bind";
    case MountKind::kTmpfs: return "tmpfs";
    case MountKind::kDev: return "dev";
    case MountKind::kProc: return "proc";
    case MountKind::kSymlink: return "symlink";
    case MountKind::kMaskDir: return "mask-dir";
    case MountKind::kMaskFile: return "mask-file";
  }
  return "?";
}

std::string render(const Plan& plan) {
  std::string out;
  const auto line = [&out](std::string text) {
    out += text;
    out += '\n';
  };
  line("command:");
  for (const std::string& arg : plan.argv) line("  " + quoted(arg));
  line("exec_path: " + plan.exec_path);
  line("policy: " + plan.policy_path);
  line("policy_sha256: " + plan.policy_sha256);
  line("uid: " + std::to_string(plan.uid) + "  gid: " + std::to_string(plan.gid));
  line("uid_map: " + std::to_string(plan.uid_map.inside) + " " + std::to_string(plan.uid_map.outside) +
       " " + std::to_string(plan.uid_map.count));
  line("gid_map: " + std::to_string(plan.gid_map.inside) + " " + std::to_string(plan.gid_map.outside) +
       " " + std::to_string(plan.gid_map.count));
  line(std::string("setgroups: ") + (plan.deny_setgroups ? "deny" : "allow"));
  line("namespaces: " + namespaces_text(plan.clone_flags));
  line("hostname: " + quoted(plan.hostname));
  line("cwd: " + plan.cwd);
  line("mounts:");
  for (size_t i = 0; i < plan.mounts.size(); ++i) line(mount_line(i, plan.mounts[i]));
  line("rlimits:");
  for (const Rlimit& r : plan.rlimits) {
    line("  " + r.name + " soft=" + limit_text(r.soft) + " hard=" + limit_text(r.hard));
  }
  line("capabilities: " + steps::caps_text(plan.keep_caps));
  if (const auto& ll = plan.landlock) {
    std::string net = ll->handled_net == 0 ? "none" : "";
    if ((ll->handled_net & landlock::kBindTcp) != 0) net += "bind_tcp";
    if ((ll->handled_net & landlock::kConnectTcp) != 0) net += ",connect_tcp";
    std::string scoped = ll->scoped == 0 ? "none" : "";
    if ((ll->scoped & landlock::kScopeAbstractUnixSocket) != 0) scoped += "abstract_unix_socket,";
    if ((ll->scoped & landlock::kScopeSignal) != 0) scoped += "signal";
    line("landlock: abi " + std::to_string(ll->abi));
    line("  handled_fs: " + steps::landlock_rights_text(ll->handled_fs));
    line("  handled_net (denied): " + net);
    line("  scoped: " + scoped);
    line("  root: " + steps::landlock_rights_text(ll->root_access));
    if (ll->dev_node_access != 0) line("  dev nodes: " + steps::landlock_rights_text(ll->dev_node_access));
  } else {
    line("landlock: none");
  }
  if (plan.seccomp) {
    line("seccomp:");
    for (const std::string& s : plan.seccomp->summary) line("  " + s);
  } else {
    line("seccomp: none");
  }
  line("cgroup: " + (plan.cgroup_parent.empty() ? std::string("none") : plan.cgroup_parent));
  for (const CgroupWrite& w : plan.cgroup_writes) line("  " + w.file + " = " + w.value);
  line("wall_time: " + duration_text(plan.wall_time));
  line("cpu_time: " + duration_text(plan.cpu_time));
  line("kill_grace: " + std::to_string(plan.kill_grace.count()) + "ms");
  line(std::string("stdin: ") + (plan.relay_stdin ? "relayed" : "/dev/null"));
  if (plan.output_area) {
    line("output_area: " + plan.output_area->path + " -> " + plan.output_area->host + " (regular files, at most " +
         steps::size_text(plan.output_area->size_bytes) + " in " + std::to_string(plan.output_area->files) + " files)");
  }
  line("output_limit: " + (plan.output_limit ? steps::size_text(*plan.output_limit) : std::string("none")));
  line("env:");
  for (const std::string& entry : plan.envp) {
    const size_t eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : entry.substr(eq + 1);
    // A secret-looking name got here only through allow_secrets or `set`; its value still has no
    // business in dry-run output, which ends up in terminals, CI logs and bug reports.
    line("  " + name + "=" +
         (is_secret_name(name) ? "<redacted, " + std::to_string(value.size()) + " bytes>" : quoted(value)));
  }
  line("protections:");
  for (const report::Protection& p : plan.protections) {
    std::string text = "  " + p.name + ": " + p.status;
    if (!p.mechanism.empty()) text += " [" + p.mechanism + "]";
    if (!p.detail.empty()) text += " " + p.detail;
    line(text);
  }
  line("warnings:" + std::string(plan.warnings.empty() ? " none" : ""));
  for (const std::string& w : plan.warnings) line("  - " + w);
  return out;
}

}  // namespace confine::plan
