// The subcommands. main() parses the command line and calls exactly one of these; each returns
// confine's exit code and is the only code that prints for the user.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "confine/learn.h"
#include "confine/policy.h"
#include "confine/report.h"

namespace confine::cli {

// Where confine's own lines go (log.cpp): its stderr unless --log-fd or --log-file says otherwise.
struct LogOptions {
  std::string level = "warn";          // --log-level
  bool quiet = false;                  // --quiet: nothing but confine's own errors
  std::optional<int> fd;               // --log-fd N
  std::optional<std::string> file;     // --log-file PATH
};

struct RunArgs {
  std::string policy_path;  // empty = the installed default policy
  policy::Overrides overrides;
  std::optional<std::string> report_file;
  std::optional<int> report_fd;
  std::string report_format = "json";  // --report-format: "json" or "text"
  bool dry_run = false;
  std::string stdin_mode = "null";  // --stdin: "null" or "relay"
  bool audit = false;               // --audit
  std::vector<std::string> command;
  // `confine learn` runs through run_command too: with the learning filter, and with where to
  // put what it saw and the run's report.
  bool learn = false;
  learn::Observations* learned = nullptr;
  report::Report* final_report = nullptr;
};

struct LearnArgs {
  std::string base;                  // -p: the policy whose isolation the job learns under
  std::optional<std::string> out;    // --out FILE (default stdout)
  std::vector<std::string> merge;    // --merge FILE: earlier learned policies to union with
  std::vector<std::string> rw;       // --rw DIR
  std::vector<std::string> ro;       // --ro PATH: shown read-only while learning (what is used is learned)
  std::optional<std::string> cwd;    // --cwd DIR
  std::optional<std::string> output;  // --output HOST_DIR: the output area, as run's
  bool allow_failure = false;        // --allow-failure
  std::optional<std::string> report_file;  // --report FILE
  std::vector<std::string> command;
};
[[nodiscard]] int learn_command(const LearnArgs& args);

[[nodiscard]] int run_command(const RunArgs& args);

// `confine batch` (docs/batch.md): JSON-lines requests on stdin, one report line per job on stdout.
struct BatchArgs {
  size_t jobs = 1;  // --jobs: jobs running at once
  LogOptions log;   // the batch's own log options, which its workers keep
};
[[nodiscard]] int batch_command(const BatchArgs& args);
// `confine report FILE`: a JSON report for a person (report::text_from_json); "-" reads stdin.
[[nodiscard]] int report_command(const std::string& file);
[[nodiscard]] int check_command(const std::vector<std::string>& policies);
[[nodiscard]] int explain_command(const std::string& policy, bool json);
// `confine doctor`: 0 when `policy_path` (empty = the default policy) runs fully enforced here,
// kDoctorGaps when it runs with protections missing, 1 when it cannot run (docs/doctor.md).
// `isolation` overrides the policy's isolation.mode, as `run --isolation` does.
[[nodiscard]] int doctor_command(const std::string& policy_path, bool json,
                                 const std::optional<std::string>& isolation = std::nullopt);

// policy_lookup.cpp: where policies named without a path are found, in order:
// $CONFINE_POLICY_PATH (colon-separated, absolute entries), the user's
// $XDG_CONFIG_HOME/confine/policies (not root's), /etc/confine/policies, and
// <prefix>/share/confine/policies next to the installed binary.
[[nodiscard]] std::vector<std::string> policy_search_path();
// The policy file for `-p ARGUMENT`: an existing file of that name, else the name looked up on
// the search path (with or without .toml); an empty argument is the policy named "default".
[[nodiscard]] Expected<std::string> resolve_policy_argument(const std::string& argument);
// How policies are loaded: the search path for `extends`, and run as root, the trust check.
[[nodiscard]] policy::LoadOptions policy_load_options();

// Prints diagnostics on confine's log, one `confine: error: file:line:col: key: message` each.
void print_diagnostics(const std::vector<policy::Diagnostic>& diagnostics);

}  // namespace confine::cli
