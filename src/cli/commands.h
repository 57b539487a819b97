// The subcommands. main() parses the command line and calls exactly one of these; each returns
// confine's exit code and is the only code that prints for the user.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "confine/policy.h"

namespace confine::cli {

struct RunArgs {
  std::string policy_path;  // empty = the installed default policy
  policy::Overrides overrides;
  std::optional<std::string> report_file;
  std::optional<int> report_fd;
  bool dry_run = false;
  std::string stdin_mode = "null";  // --stdin: "null" or "relay"
  std::vector<std::string> command;
};

[[nodiscard]] int run_command(const RunArgs& args);
[[nodiscard]] int check_command(const std::vector<std::string>& policies);
[[nodiscard]] int explain_command(const std::string& policy, bool json);
// `confine doctor`: 0 when `policy_path` (empty = the default policy) runs fully enforced here.
[[nodiscard]] int doctor_command(const std::string& policy_path, bool json);

// Where the default policy lives: $CONFINE_POLICY_DIR/default.toml, then the share directory
// next to the installed binary, then the source tree this binary was built from.
[[nodiscard]] std::string default_policy_path();

// Prints diagnostics to stderr, one per line, followed by a count.
void print_diagnostics(const std::vector<policy::Diagnostic>& diagnostics);

}  // namespace confine::cli
