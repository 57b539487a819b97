// The command line, parsed into what main() dispatches on, without running anything.
//
// A seam of its own so the parser can be tested (tests/cli_command_line_test.cpp) and fuzzed
// (fuzz/cli_fuzz.cpp) apart from the subcommands it leads to: parse_command_line() only reads
// argv and writes help or usage errors to the streams it is given.
//
// Usage errors are one line each, `confine: error: ...`, with a did-you-mean for a misspelt
// subcommand or option, and exit 125 like every other failure of confine's own.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"

namespace confine::cli {

enum class Subcommand { kNone, kRun, kCheck, kExplain, kDoctor, kReport, kLearn, kBatch };

struct CommandLine {
  Subcommand subcommand = Subcommand::kNone;
  // Set when parsing already decided the exit code (help, version, a usage error): main returns
  // it without dispatching.
  std::optional<int> exit_code;
  LogOptions log;
  // run.command is everything after the first "--", verbatim; without a "--", everything from
  // the first argument that is not an option of run's.
  RunArgs run;
  LearnArgs learn;
  BatchArgs batch;
  std::vector<std::string> check_policies;
  std::string explain_policy;
  bool explain_json = false;
  std::string doctor_policy;
  bool doctor_json = false;
  std::string report_file;  // `confine report FILE` ("-" is stdin)
  std::optional<std::string> doctor_isolation;  // --isolation, as for run
};

// Help and version go to `out`, usage errors to `err`.
[[nodiscard]] CommandLine parse_command_line(int argc, const char* const* argv, std::ostream& out,
                                             std::ostream& err);

}  // namespace confine::cli
