// libFuzzer target: confine's command line (src/cli/command_line.h), parsed without running
// anything, and for `run` the overrides it carries applied to the shipped default policy.
//
// The input is argv after "confine", split at NUL bytes. Promises checked (abort() on a
// violation, so libFuzzer reports the input):
//  - parsing ends in exactly one of: a subcommand to run, or an exit code;
//  - a usage error (exit 125) always says what was wrong; help and version print something;
//  - `run`'s command is a non-empty tail of argv, verbatim: everything after the first "--"
//    when that "--" comes before it, otherwise a tail that starts with no option (a later "--"
//    is the command's own); usage errors are one `confine: error:` line;
//  - overrides are all-or-nothing: every problem is reported against "<command line>" and the
//    flag that caused it, and a rejected set of overrides leaves the policy untouched.
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "command_line.h"
#include "confine/policy.h"
#include "confine/report.h"

namespace {

[[noreturn]] void violated(const char* promise, const std::string& detail = {}) {
  std::fprintf(stderr, "cli_fuzz: broken promise: %s\n", promise);
  if (!detail.empty()) std::fprintf(stderr, "  %s\n", detail.c_str());
  std::abort();
}

const confine::policy::Policy& default_policy() {
  static const confine::policy::Policy policy = [] {
    auto result = confine::policy::load(CONFINE_FUZZ_DEFAULT_POLICY);
    if (!result.ok()) violated("the shipped default policy loads", CONFINE_FUZZ_DEFAULT_POLICY);
    return *result.policy;
  }();
  return policy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"confine"};
  for (size_t start = 0; start <= input.size();) {
    size_t end = input.find('\0', start);
    if (end == std::string_view::npos) end = input.size();
    args.emplace_back(input.substr(start, end - start));
    start = end + 1;
    if (args.size() > 64) break;
  }
  if (input.empty()) args.pop_back();  // no arguments at all
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);

  std::ostringstream out;
  std::ostringstream err;
  const confine::cli::CommandLine line =
      confine::cli::parse_command_line(static_cast<int>(args.size()), argv.data(), out, err);

  using confine::cli::Subcommand;
  if (line.exit_code.has_value() == (line.subcommand != Subcommand::kNone)) {
    violated("parsing ends in a subcommand or an exit code, never both or neither");
  }
  if (line.exit_code == confine::report::kExitConfineFailed &&
      (err.str().rfind("confine: error: ", 0) != 0 || err.str().back() != '\n')) {
    violated("a usage error says what was wrong, as `confine: error: ...`", err.str());
  }
  if (line.exit_code == 0 && out.str().empty()) violated("help and version print something");

  // The first "--" (an argument of its own, compared as a C string like main does).
  size_t dashes = args.size();
  for (size_t i = 1; i < args.size(); ++i) {
    if (std::string_view(args[i].c_str()) == "--") {
      dashes = i;
      break;
    }
  }
  if (line.subcommand == Subcommand::kRun) {
    if (line.run.command.empty()) violated("run always has a command");
    // The command is a tail of argv, verbatim. Options end at the first "--" or at the first
    // word that is no option, whichever comes first (as for env(1) and timeout(1)): a "--"
    // after the command's first word is the command's own argument.
    const size_t n = line.run.command.size();
    if (n >= args.size()) violated("the command is part of argv");
    const size_t start = args.size() - n;
    std::string got;
    for (const auto& a : line.run.command) got += "[" + a + "]";
    for (size_t i = 0; i < n; ++i) {
      if (line.run.command[i] != args[start + i].c_str()) violated("the command is argv's tail, verbatim", got);
    }
    if (dashes < start) {
      if (start != dashes + 1) {
        violated("after a \"--\" that comes before the command, the command is everything after it", got);
      }
    } else if (line.run.command.front().size() > 1 && line.run.command.front().front() == '-') {
      violated("an unknown option is never taken for the command", got);
    }
    confine::policy::Policy policy = default_policy();
    const std::string before = confine::policy::canonical_text(policy);
    const auto problems = confine::policy::apply_overrides(policy, line.run.overrides);
    for (const auto& d : problems) {
      if (d.origin.file != "<command line>" || d.origin.line != 0 || d.key.rfind("--", 0) != 0 ||
          d.message.empty()) {
        violated("an override problem names \"<command line>\" and its flag", d.str());
      }
    }
    if (!problems.empty() && confine::policy::canonical_text(policy) != before) {
      violated("rejected overrides leave the policy untouched");
    }
    if (problems.empty()) (void)confine::policy::content_hash(policy);
  } else if (line.subcommand == Subcommand::kCheck) {
    // Elsewhere "--" only ends the options (`confine check -- -odd-name.toml`); it is never
    // taken for a policy file itself.
    size_t named = 0;  // "--" arguments after the first: those are file names
    for (size_t i = dashes + 1; i < args.size(); ++i) named += std::string_view(args[i].c_str()) == "--";
    size_t taken = 0;
    for (const auto& path : line.check_policies) taken += path == "--";
    if (taken > named) violated("\"--\" taken for a policy file");
  }
  return 0;
}
