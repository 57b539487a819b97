// apply_overrides(): command-line flags layered over the loaded policy.
//
// Each flag goes through the same checks as the file key it overrides (values.h), and the
// whole-policy checks run again afterwards, since `--rw /usr` can collide with a file's ro.
// The flags are applied to a copy that replaces the policy only when all of them are valid, so
// a caller can never run a half-overridden policy by mistake.
#include "confine/policy.h"
#include "finalize.h"
#include "values.h"

namespace confine::policy {

std::vector<Diagnostic> apply_overrides(Policy& policy, const Overrides& overrides) {
  std::vector<Diagnostic> diagnostics;
  Policy next = policy;
  const Origin here{std::string(detail::kCommandLine), 0, 0};
  auto problem = [&](std::string_view flag, const std::string& message) {
    diagnostics.push_back(Diagnostic{here, std::string(flag), message});
  };
  // Every string a policy holds is UTF-8 (files are checked byte by byte); argv is not, so check.
  auto text_ok = [&](std::string_view flag, std::string_view text) {
    if (detail::is_valid_utf8(text)) return true;
    problem(flag, "value is not valid UTF-8");
    return false;
  };

  auto add_paths = [&](const std::vector<std::string>& paths, std::string_view flag, std::vector<PathRule>& out) {
    for (const std::string& text : paths) {
      if (!text_ok(flag, text)) continue;
      auto path = detail::normalize_path(text);
      if (!path) {
        problem(flag, path.error().message);
      } else if (flag == "--rw" && *path == "/") {
        problem(flag, "\"/\" would make the whole host writable; give only the directories the job writes");
      } else {
        out.push_back(PathRule{*path, false, here});
      }
    }
  };
  add_paths(overrides.ro, "--ro", next.filesystem.ro);
  add_paths(overrides.rw, "--rw", next.filesystem.rw);

  if (overrides.cwd && text_ok("--cwd", *overrides.cwd)) {
    auto path = detail::normalize_path(*overrides.cwd);
    if (path) {
      next.process.cwd = {*path, here};
    } else {
      problem("--cwd", path.error().message);
    }
  }

  for (const std::string& assignment : overrides.env) {
    if (!text_ok("--env", assignment)) continue;
    const size_t equals = assignment.find('=');
    if (equals == std::string::npos) {
      problem("--env", "expected NAME=VALUE, got '" + assignment + "'");
      continue;
    }
    const std::string name = assignment.substr(0, equals);
    const std::string value = assignment.substr(equals + 1);
    if (auto ok = detail::check_env_name(name); !ok) {
      problem("--env", ok.error().message);
    } else if (auto value_ok = detail::check_env_value(value); !value_ok) {
      problem("--env", value_ok.error().message);
    } else {
      next.env.set[name] = {value, here};
    }
  }

  if (overrides.timeout && text_ok("--timeout", *overrides.timeout)) {
    auto value = detail::duration_limit(*overrides.timeout, detail::Zero::kRejected, detail::Unlimited::kAllowed);
    if (value) {
      next.limits.wall_time = {*value, here};
    } else {
      problem("--timeout", value.error().message);
    }
  }
  if (overrides.cpu_time && text_ok("--cpu-time", *overrides.cpu_time)) {
    auto value = detail::duration_limit(*overrides.cpu_time, detail::Zero::kRejected, detail::Unlimited::kAllowed);
    if (value) {
      next.limits.cpu_time = {*value, here};
    } else {
      problem("--cpu-time", value.error().message);
    }
  }
  if (overrides.memory && text_ok("--memory", *overrides.memory)) {
    auto value = detail::size_limit(*overrides.memory, detail::Zero::kRejected, detail::Unlimited::kAllowed);
    if (value) {
      next.limits.memory_bytes = {*value, here};
    } else {
      problem("--memory", value.error().message);
    }
  }
  if (overrides.pids && text_ok("--pids", *overrides.pids)) {
    auto value = detail::count_limit(std::string_view(*overrides.pids));
    if (value) {
      next.limits.pids = {*value, here};
    } else {
      problem("--pids", value.error().message);
    }
  }
  if (overrides.cpus && text_ok("--cpus", *overrides.cpus)) {
    auto value = detail::cpus_limit(std::string_view(*overrides.cpus));
    if (value) {
      next.limits.cpus = {*value, here};
    } else {
      problem("--cpus", value.error().message);
    }
  }
  if (overrides.net && text_ok("--net", *overrides.net)) {
    auto value = detail::parse_network_mode(*overrides.net);
    if (value) {
      next.network.mode = {*value, here};
    } else {
      problem("--net", value.error().message);
    }
  }
  if (overrides.best_effort) next.enforcement.resources = {Enforcement::kBestEffort, here};

  const detail::KeyIndex no_file_keys;  // file entries are named by list; flags by their flag
  detail::finalize(next, no_file_keys, diagnostics);
  detail::sort_diagnostics(diagnostics);
  if (diagnostics.empty()) policy = std::move(next);
  return diagnostics;
}

}  // namespace confine::policy
