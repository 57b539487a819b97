// `confine check` and `confine explain`: the policy author's tools. Neither touches the host
// beyond reading the policy files.
#include <cstdio>

#include "commands.h"

namespace confine::cli {

void print_diagnostics(const std::vector<policy::Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) std::fprintf(stderr, "%s\n", d.str().c_str());
}

int check_command(const std::vector<std::string>& policies) {
  int problems = 0;
  for (const auto& argument : policies) {
    auto found = resolve_policy_argument(argument);
    if (!found) {
      std::fprintf(stderr, "%s\n", found.error().render().c_str());
      ++problems;
      continue;
    }
    const std::string& path = *found;
    auto result = policy::load(path, policy_load_options());
    print_diagnostics(result.diagnostics);
    if (result.ok()) {
      std::printf("%s: ok\n", path.c_str());
    } else {
      problems += static_cast<int>(result.diagnostics.size());
    }
  }
  if (problems > 0) {
    std::fprintf(stderr, "%d problem%s found\n", problems, problems == 1 ? "" : "s");
    return 1;
  }
  return 0;
}

int explain_command(const std::string& argument, bool json) {
  auto found = resolve_policy_argument(argument);
  if (!found) {
    std::fprintf(stderr, "%s\n", found.error().render().c_str());
    return 1;
  }
  auto result = policy::load(*found, policy_load_options());
  if (!result.ok()) {
    print_diagnostics(result.diagnostics);
    return 1;
  }
  const std::string text = json ? policy::explain_json(*result.policy) : policy::explain_text(*result.policy);
  std::fputs(text.c_str(), stdout);
  if (!text.empty() && text.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

}  // namespace confine::cli
