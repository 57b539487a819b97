// `confine check`, `confine explain` and `confine report`: the policy author's and the reader's
// tools. None touches the host beyond reading the files named.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "commands.h"
#include "confine/report.h"
#include "log.h"

namespace confine::cli {

void print_diagnostics(const std::vector<policy::Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) error(d.str());
}

int check_command(const std::vector<std::string>& policies) {
  int problems = 0;
  for (const auto& argument : policies) {
    auto found = resolve_policy_argument(argument);
    if (!found) {
      error(found.error().render());
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
    std::fflush(stdout);
    error(std::to_string(problems) + " problem" + (problems == 1 ? "" : "s") + " found");
    return 1;
  }
  return 0;
}

int explain_command(const std::string& argument, bool json) {
  auto found = resolve_policy_argument(argument);
  if (!found) {
    error(found.error().render());
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

int report_command(const std::string& file) {
  // A report is small (a few KiB); anything far larger is not one.
  constexpr size_t kMaxReportBytes = 16 << 20;
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      error("cannot read the report " + file);
      return 1;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (text.size() > kMaxReportBytes) {
    error(file + ": " + std::to_string(text.size()) + " bytes is no confine report");
    return 1;
  }
  auto parsed = report::from_json_text(text);
  if (!parsed) {
    error(file + ": " + parsed.error().render());
    return 1;
  }
  std::fputs(report::to_text(*parsed).c_str(), stdout);
  return 0;
}

}  // namespace confine::cli
