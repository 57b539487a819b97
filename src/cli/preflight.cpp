// unwritable_job_directories(): see preflight.h.
#include "preflight.h"

#include <cstdio>

namespace confine::cli {
namespace {

std::string octal(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

}  // namespace

std::optional<struct stat> stat_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

std::vector<std::string> unwritable_job_directories(const plan::Plan& plan, bool run_by_root, const StatPath& stat) {
  std::vector<std::string> out;
  const uid_t uid = plan.uid_map.outside;
  const gid_t gid = plan.gid_map.outside;
  for (const plan::MountOp& op : plan.mounts) {
    if (op.kind != plan::MountKind::kBind || op.read_only || !op.source_is_dir) continue;
    const auto st = stat(op.source);
    if (!st) continue;
    // Inside its user namespace the job's capabilities do not reach host files owned by ids the
    // namespace does not map, so these bits decide, as they would for that uid on the host.
    const bool writable = (st->st_uid == uid && (st->st_mode & S_IWUSR) != 0) ||
                          (st->st_gid == gid && (st->st_mode & S_IWGRP) != 0) || (st->st_mode & S_IWOTH) != 0;
    if (writable) continue;
    std::string line = op.source + " is bound read-write, but the job runs as host uid " + std::to_string(uid) +
                       ", which cannot write there (owner uid " + std::to_string(st->st_uid) + ", gid " +
                       std::to_string(st->st_gid) + ", mode " + octal(st->st_mode) + "): ";
    if (run_by_root) {
      line += "chown " + std::to_string(uid) + ":" + std::to_string(gid) + " " + op.source;
    } else if (st->st_uid == uid) {
      line += "chmod u+w " + op.source;
    } else {
      line += "the job runs as you on the host; give it a directory you can write";
    }
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace confine::cli
