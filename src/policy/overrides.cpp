// apply_overrides(): command-line flags layered over the loaded policy.
//
// Each flag goes through the same checks as the file key it overrides (values.h), and the
// whole-policy checks run again afterwards, since `--rw /usr` can collide with a file's ro.
// The flags are applied to a copy that replaces the policy only when all of them are valid, so
// a caller can never run a half-overridden policy by mistake.
#include <algorithm>

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
  add_paths(overrides.deny, "--deny", next.filesystem.deny);

  // --tmpfs PATH[:SIZE]: filesystem.tmpfs's { path, size }. The text after the last ':' is the
  // size, so a path that itself holds a ':' needs its size spelt out (--tmpfs /a:b:64M).
  for (const std::string& text : overrides.tmpfs) {
    if (!text_ok("--tmpfs", text)) continue;
    const size_t colon = text.rfind(':');
    const std::string path_text = colon == std::string::npos ? text : text.substr(0, colon);
    const std::string size_text = colon == std::string::npos ? std::string(kDefaultTmpfsSize) : text.substr(colon + 1);
    auto path = detail::normalize_path(path_text);
    auto size = detail::size_limit(size_text, detail::Zero::kRejected, detail::Unlimited::kRejected);
    if (!path) {
      problem("--tmpfs", path.error().message);
    } else if (!size) {
      problem("--tmpfs", "size '" + size_text + "': " + size.error().message);
    } else {
      next.filesystem.tmpfs.push_back(TmpfsRule{*path, **size, here});
    }
  }

  // One flag with one value: parsed by the same function as the key it sets, stored with the
  // command line as its origin, or reported under the flag's name.
  auto set = [&](const std::optional<std::string>& text, std::string_view flag, auto parse, auto& target) {
    if (!text || !text_ok(flag, *text)) return;
    auto value = parse(*text);
    if (value) {
      target = {*value, here};
    } else {
      problem(flag, value.error().message);
    }
  };
  set(overrides.cwd, "--cwd", [](const std::string& t) { return detail::normalize_path(t); }, next.process.cwd);
  set(overrides.hostname, "--hostname",
      [](const std::string& t) -> Expected<std::string> {
        if (auto ok = detail::check_hostname(t); !ok) return unexpected(ok.error());
        return t;
      },
      next.process.hostname);

  for (const std::string& pattern : overrides.keep_env) {
    if (!text_ok("--keep-env", pattern)) continue;
    if (auto ok = detail::check_env_glob(pattern); !ok) {
      problem("--keep-env", ok.error().message);
    } else {
      next.env.keep.push_back({pattern, here});
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

  using detail::Unlimited;
  using detail::Zero;
  set(overrides.timeout, "--timeout",
      [](const std::string& t) { return detail::duration_limit(t, Zero::kRejected, Unlimited::kAllowed); },
      next.limits.wall_time);
  set(overrides.cpu_time, "--cpu-time",
      [](const std::string& t) { return detail::duration_limit(t, Zero::kRejected, Unlimited::kAllowed); },
      next.limits.cpu_time);
  set(overrides.memory, "--memory",
      [](const std::string& t) { return detail::size_limit(t, Zero::kRejected, Unlimited::kAllowed); },
      next.limits.memory_bytes);
  set(overrides.pids, "--pids", [](const std::string& t) { return detail::count_limit(std::string_view(t)); },
      next.limits.pids);
  set(overrides.cpus, "--cpus", [](const std::string& t) { return detail::cpus_limit(std::string_view(t)); },
      next.limits.cpus);
  set(overrides.max_output, "--max-output",
      [](const std::string& t) { return detail::size_limit(t, Zero::kAllowed, Unlimited::kAllowed); },
      next.limits.output_bytes);
  // kill_grace: zero kills at once; there is no "unlimited" grace (limits.kill_grace).
  Sourced<std::optional<Millis>> grace;
  set(overrides.kill_after, "--kill-after",
      [](const std::string& t) { return detail::duration_limit(t, Zero::kAllowed, Unlimited::kRejected); }, grace);
  if (grace.value) next.limits.kill_grace = {*grace.value, here};
  set(overrides.file_size, "--file-size",
      [](const std::string& t) { return detail::size_limit(t, Zero::kRejected, Unlimited::kAllowed); },
      next.limits.file_size_bytes);
  set(overrides.open_files, "--open-files",
      [](const std::string& t) { return detail::count_limit(std::string_view(t)); }, next.limits.open_files);
  // --output DIR turns the output area on (with its defaults, unless the policy configures it)
  // and names the host directory its files are copied to.
  if (overrides.output && text_ok("--output", *overrides.output)) {
    auto path = detail::normalize_path(*overrides.output);
    if (!path) {
      problem("--output", path.error().message);
    } else if (*path == "/") {
      problem("--output", "\"/\" cannot receive the output area's files; give a directory of its own");
    } else {
      // Not emplace(): clang (14) decides Output is not default-constructible inside the class
      // that declares it (its default member initializers), and the fuzz build uses clang.
      if (!next.filesystem.output) {
        next.filesystem.output = Policy::Filesystem::Output{};
        next.filesystem.output->origin = here;
      }
      next.filesystem.output->host = *path;
    }
  }
  set(overrides.net, "--net", [](const std::string& t) { return detail::parse_network_mode(t); }, next.network.mode);
  set(overrides.isolation, "--isolation", [](const std::string& t) { return detail::parse_isolation_mode(t); },
      next.isolation.mode);
  // The shipped policies allow only unix sockets (their jobs have no network); `--net host` asks
  // for the host's network, which needs inet and inet6 sockets too. Nothing else is added: vsock,
  // packet, netlink and the rest stay as the policy says.
  if (overrides.net && next.network.mode.value == NetworkMode::kHost) {
    auto& families = next.network.socket_families;
    for (const char* family : {"inet", "inet6"}) {
      if (std::find(families.value.begin(), families.value.end(), family) == families.value.end()) {
        families.value.emplace_back(family);
        families.origin = here;
      }
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
