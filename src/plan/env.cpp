// The target's environment: an allow-list over the caller's, minus anything that looks like a
// secret, plus the policy's own values.
//
// Secrets are dropped by name because a sandboxed tool that can read its environment can leak
// it (into output files, error messages, network requests when allowed). LD_* is dropped for a
// different reason: LD_PRELOAD / LD_LIBRARY_PATH let the caller's environment choose code that
// runs inside the target.
#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "confine/plan.h"

namespace confine::plan {
namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool matches_keep(const std::vector<policy::Sourced<std::string>>& keep, const std::string& name) {
  return std::any_of(keep.begin(), keep.end(), [&](const policy::Sourced<std::string>& pattern) {
    // FNM_NOESCAPE: a backslash in a policy glob is a literal character, never an escape.
    return fnmatch(pattern.value.c_str(), name.c_str(), FNM_NOESCAPE) == 0;
  });
}

bool allowed_secret(const std::vector<policy::Sourced<std::string>>& allow, const std::string& name) {
  return std::any_of(allow.begin(), allow.end(),
                     [&](const policy::Sourced<std::string>& exact) { return exact.value == name; });
}

}  // namespace

bool is_secret_name(std::string_view name) {
  const std::string up = upper(name);
  static constexpr std::string_view kInfixes[] = {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY",
                                                  "CREDENTIAL"};
  static constexpr std::string_view kPrefixes[] = {"AWS_", "LD_"};
  for (std::string_view infix : kInfixes) {
    if (up.find(infix) != std::string::npos) return true;
  }
  for (std::string_view prefix : kPrefixes) {
    if (std::string_view(up).substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

std::vector<std::string> build_env(const policy::Policy::Env& env,
                                   const std::vector<std::string>& caller_env) {
  std::map<std::string, std::string> vars;  // sorted by name, one value per name
  for (const std::string& entry : caller_env) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;  // not NAME=VALUE: nothing to pass
    std::string name = entry.substr(0, eq);
    if (!matches_keep(env.keep, name)) continue;
    if (is_secret_name(name) && !allowed_secret(env.allow_secrets, name)) continue;
    // The first occurrence wins, as getenv(3) sees it.
    vars.emplace(std::move(name), entry.substr(eq + 1));
  }
  // `set` comes from the policy author, so it is applied as written and overrides the caller.
  for (const auto& [name, value] : env.set) vars[name] = value.value;

  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [name, value] : vars) out.push_back(name + "=" + value);
  return out;
}

}  // namespace confine::plan
