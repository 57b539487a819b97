// The exec path: resolved here, in the parent, so the child calls execve on an absolute path and
// never searches PATH (execvp allocates and reads the environment, both banned after clone).
//
// The search uses the *target's* PATH, and a candidate counts only if it is executable on the
// host and visible in the sandbox: a program the host has but the sandbox hides would otherwise
// be "found" here and fail later with a confusing ENOENT.
#include <optional>
#include <string>

#include "confine/plan.h"
#include "paths.h"
#include "steps.h"

namespace confine::plan::steps {
namespace {

constexpr std::string_view kFallbackPath = "/usr/local/bin:/usr/bin:/bin";

}  // namespace

std::string path_of(const std::vector<std::string>& envp) {
  for (const std::string& entry : envp) {
    if (entry.rfind("PATH=", 0) == 0) return entry.substr(5);
  }
  return std::string(kFallbackPath);
}

// Resolves `path` the way the sandbox will see it: a recreated symlink by its text, a symlink
// inside a host bind by reading it on the host. nullopt when a component is masked or the links
// loop. Without this, /bin/python3 (through the recreated /bin -> usr/bin) would slip past a
// mask on /usr/bin/python3.
std::optional<std::string> resolve_inside(const std::vector<MountOp>& mounts, const HostFacts& host,
                                          const std::string& path, const MountOp** mask_hit) {
  std::vector<std::string> todo;  // components still to walk, last one first
  const auto push = [&todo](std::string_view p) {
    const auto parts = paths::components(p);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.emplace_back(*it);
  };
  push(path);
  std::string current;  // resolved so far; "" is the root
  int hops = 0;
  while (!todo.empty()) {
    const std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      current = current.substr(0, current.rfind('/') == std::string::npos ? 0 : current.rfind('/'));
      continue;
    }
    const std::string next = current + "/" + part;
    if (const MountOp* mask = masking_mount(mounts, next)) {
      if (mask_hit != nullptr) *mask_hit = mask;
      return std::nullopt;
    }
    const MountOp* cover = covering_mount(mounts, next);
    std::optional<std::string> link;
    if (cover != nullptr && cover->kind == MountKind::kSymlink && cover->target == next) {
      link = cover->source;
    } else if (cover != nullptr && cover->kind == MountKind::kBind &&
               host.file_kind(next) == FileKind::kSymlink) {
      link = host.read_link(next);
      if (!link) return std::nullopt;
    }
    if (!link) {
      current = next;
      continue;
    }
    if (++hops > 40) return std::nullopt;  // ELOOP, as the kernel counts
    if (!link->empty() && link->front() == '/') current.clear();
    push(*link);
  }
  return current.empty() ? std::string("/") : current;
}

namespace {

bool visible(const std::vector<MountOp>& mounts, const HostFacts& host, const std::string& path) {
  const auto resolved = resolve_inside(mounts, host, path);
  if (!resolved) return false;
  const MountOp* cover = covering_mount(mounts, *resolved);
  return cover != nullptr && cover->kind == MountKind::kBind;
}

}  // namespace

Expected<std::string> resolve_exec_path(const std::vector<std::string>& argv, const std::string& cwd,
                                        const std::vector<std::string>& envp,
                                        const std::vector<MountOp>& mounts, const HostFacts& host) {
  if (argv.empty() || argv.front().empty()) {
    return fail(ErrorCode::kInvalidArgument, "no command given",
                "usage: confine run [OPTIONS] -- CMD [ARG...]");
  }
  const std::string& command = argv.front();
  if (command.find('/') != std::string::npos) {
    // A path names one file; relative ones are taken against the sandbox's cwd, as execve would.
    return command.front() == '/' ? command : paths::normalise(command, cwd);
  }

  const std::string search = path_of(envp);
  std::string hidden;  // the first candidate the host has but the sandbox does not show
  for (std::string_view dir : paths::components_of_list(search)) {
    // Relative and empty PATH entries would search the cwd: a classic way to run a planted file.
    if (dir.empty() || dir.front() != '/') continue;
    const std::string candidate = paths::normalise(std::string(dir) + "/" + command);
    if (!host.executable(candidate)) continue;
    if (visible(mounts, host, candidate)) return candidate;
    if (hidden.empty()) hidden = candidate;
  }
  std::string hint = hidden.empty()
                         ? "check the spelling, give an absolute path, or make the directory "
                           "holding it visible with --ro DIR"
                         : hidden + " exists on the host but the sandbox does not show it (no ro "
                                    "or rw rule covers it, or a deny rule masks it)";
  return unexpected<Error>(Error{ErrorCode::kCommandNotFound, 0,
                                 "command '" + command + "' not found in the sandbox's PATH (" +
                                     search + ")",
                                 {}, std::move(hint)});
}

}  // namespace confine::plan::steps

namespace confine::plan {

std::string path_candidate(const std::string& command, const std::vector<std::string>& envp, const HostFacts& host) {
  std::string first;
  const std::string search = steps::path_of(envp);  // the views below point into it
  for (std::string_view dir : paths::components_of_list(search)) {
    if (dir.empty() || dir.front() != '/') continue;
    const std::string candidate = paths::normalise(std::string(dir) + "/" + command);
    if (host.executable && host.executable(candidate)) return candidate;
    if (first.empty()) first = candidate;
  }
  return first.empty() ? "/" + command : first;
}

}  // namespace confine::plan

