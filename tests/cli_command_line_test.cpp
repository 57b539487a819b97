// The command line as a person types it (src/cli/command_line.cpp): one value per option, the
// command with or without "--", did-you-mean for misspelt commands and options, one error form
// (`confine: error: ...`, exit 125), and help that shows `confine run [OPTIONS] -- CMD [ARG...]`.
// Messages are compared exactly: they are what people read.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "command_line.h"
#include "confine/report.h"

namespace confine::cli {
namespace {

struct Parsed {
  CommandLine line;
  std::string out;
  std::string err;
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "/some/build/tree/src/confine");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  std::ostringstream out;
  std::ostringstream err;
  Parsed p;
  p.line = parse_command_line(static_cast<int>(args.size()), argv.data(), out, err);
  p.out = out.str();
  p.err = err.str();
  return p;
}

// A usage error: exit 125, nothing dispatched, exactly `message` on stderr.
void expect_usage_error(const std::vector<std::string>& args, const std::string& message) {
  const Parsed p = parse(args);
  EXPECT_EQ(p.line.exit_code, report::kExitConfineFailed) << message;
  EXPECT_EQ(p.line.subcommand, Subcommand::kNone);
  EXPECT_EQ(p.err, message + "\n");
  EXPECT_EQ(p.out, "");
}

TEST(CommandLine, RepeatedOptionsEachTakeOneValue) {
  const Parsed p = parse({"run", "--ro", "/a", "--ro", "/b", "--rw", "/job", "--env", "A=1", "--env", "B=2",
                          "--deny", "/a/secret", "--tmpfs", "/scratch:16M", "--keep-env", "LC_*", "--", "true"});
  ASSERT_EQ(p.line.subcommand, Subcommand::kRun) << p.err;
  const auto& o = p.line.run.overrides;
  EXPECT_EQ(o.ro, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(o.rw, (std::vector<std::string>{"/job"}));
  EXPECT_EQ(o.env, (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(o.deny, (std::vector<std::string>{"/a/secret"}));
  EXPECT_EQ(o.tmpfs, (std::vector<std::string>{"/scratch:16M"}));
  EXPECT_EQ(o.keep_env, (std::vector<std::string>{"LC_*"}));
  EXPECT_EQ(p.line.run.command, (std::vector<std::string>{"true"}));
}

TEST(CommandLine, ACommandWithoutDashesStartsAtTheFirstNonOption) {
  // Before: --rw took "echo" and "hi" as more paths, and the run said "no command given".
  const Parsed p = parse({"run", "--rw", "/job", "echo", "-n", "hi", "--rw", "x"});
  ASSERT_EQ(p.line.subcommand, Subcommand::kRun) << p.err;
  EXPECT_EQ(p.line.run.overrides.rw, (std::vector<std::string>{"/job"}));
  EXPECT_EQ(p.line.run.command, (std::vector<std::string>{"echo", "-n", "hi", "--rw", "x"}));
  EXPECT_EQ(p.err, "");
}

TEST(CommandLine, EverythingAfterDashesIsTheCommandVerbatim) {
  const Parsed p = parse({"run", "-p", "python", "--", "--ro", "--", "-x"});
  ASSERT_EQ(p.line.subcommand, Subcommand::kRun) << p.err;
  EXPECT_EQ(p.line.run.policy_path, "python");
  EXPECT_TRUE(p.line.run.overrides.ro.empty());
  EXPECT_EQ(p.line.run.command, (std::vector<std::string>{"--ro", "--", "-x"}));
}

TEST(CommandLine, ASecondValueForAnOptionIsNamedBeforeTheDashes) {
  expect_usage_error({"run", "--ro", "/a", "/b", "--", "true"},
                     "confine: error: run: '/b' before '--': options go before '--', the command and its "
                     "arguments after it; usage: confine run [OPTIONS] -- CMD [ARG...]");
}

TEST(CommandLine, NoCommandGiven) {
  expect_usage_error({"run", "--rw", "/job"},
                     "confine: error: run: no command given; usage: confine run [OPTIONS] -- CMD [ARG...]");
  expect_usage_error({"run", "--"}, "confine: error: run: no command given; usage: confine run [OPTIONS] -- CMD [ARG...]");
  expect_usage_error({}, "confine: error: no command given; usage: confine run|learn|batch|check|explain|doctor|report "
                         "[OPTIONS] (see 'confine --help')");
}

TEST(CommandLine, BatchTakesJobsAndLogOptions) {
  const Parsed p = parse({"batch", "--jobs", "3", "--log-level", "error"});
  ASSERT_EQ(p.line.subcommand, Subcommand::kBatch) << p.err;
  EXPECT_EQ(p.line.batch.jobs, 3u);
  EXPECT_EQ(p.line.batch.log.level, "error");
  EXPECT_EQ(parse({"batch", "--jobs", "0"}).line.exit_code, report::kExitConfineFailed);
  expect_usage_error({"batch", "true"}, "confine: error: batch: unexpected argument 'true'");
}

TEST(CommandLine, UnknownSubcommandsGetDidYouMean) {
  expect_usage_error({"rn", "--", "true"}, "confine: error: unknown command 'rn'; did you mean 'run'?");
  expect_usage_error({"doctr"}, "confine: error: unknown command 'doctr'; did you mean 'doctor'?");
  expect_usage_error({"", "run", "--", "x"},
                     "confine: error: unknown command ''; the commands are run, learn, batch, check, explain, doctor "
                     "and report");
  // A lone "-" is a word: found by cli_fuzz, it once let CLI11 find `run` past a "--" and take
  // the command from after the options that followed it.
  expect_usage_error({"-", "--", "run", "--ro", "/usr", "true"},
                     "confine: error: unknown command '-'; the commands are run, learn, batch, check, explain, doctor "
                     "and report");
  expect_usage_error({"frobnicate"},
                     "confine: error: unknown command 'frobnicate'; the commands are run, learn, batch, check, explain, "
                     "doctor and report");
}

TEST(CommandLine, UnknownOptionsGetDidYouMean) {
  expect_usage_error({"run", "--tmeout", "5s", "--", "true"},
                     "confine: error: run: unknown option '--tmeout'; did you mean '--timeout'? (see 'confine run "
                     "--help')");
  expect_usage_error({"run", "--memroy=1G", "--", "true"},
                     "confine: error: run: unknown option '--memroy=1G'; did you mean '--memory'? (see 'confine "
                     "run --help')");
  expect_usage_error({"run", "--frobnicate", "--", "true"},
                     "confine: error: run: unknown option '--frobnicate' (see 'confine run --help')");
  expect_usage_error({"explain", "--jsn", "default"},
                     "confine: error: explain: unknown option '--jsn'; did you mean '--json'? (see 'confine "
                     "explain --help')");
  expect_usage_error({"doctor", "default"}, "confine: error: doctor: unexpected argument 'default'");
  expect_usage_error({"doctor", "run", "--", "x"}, "confine: error: doctor: unexpected argument 'run'");
  expect_usage_error({"-p", "default", "run", "--", "true"},
                     "confine: error: unknown option '-p' before the command; options go after it, e.g. confine "
                     "run -p ... (see 'confine --help')");
}

TEST(CommandLine, ParserErrorsHaveTheOnePrefix) {
  expect_usage_error({"run", "--stdin", "tty", "--", "true"},
                     "confine: error: run: --stdin: tty not in {null,relay} (see 'confine run --help')");
  expect_usage_error({"run", "--report-format", "yaml", "--", "true"},
                     "confine: error: run: --report-format: yaml not in {json,text} (see 'confine run --help')");
  expect_usage_error({"run", "--log-fd", "three", "--", "true"},
                     "confine: error: run: Could not convert: --log-fd = three (see 'confine run --help')");
  expect_usage_error({"check"}, "confine: error: check: POLICY is required (see 'confine check --help')");
}

TEST(CommandLine, HelpShowsWhereTheCommandGoesAndNoBuildPath) {
  const Parsed p = parse({"run", "--help"});
  EXPECT_EQ(p.line.exit_code, 0);
  EXPECT_EQ(p.out.find("/some/build/tree"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("Usage: confine run [OPTIONS] -- CMD [ARG...]\n"), std::string::npos) << p.out;
  for (const char* option : {"--tmpfs", "--deny", "--keep-env", "--kill-after", "--file-size", "--open-files",
                             "--hostname", "--log-fd", "--log-file", "--quiet", "--report-format"}) {
    EXPECT_NE(p.out.find(option), std::string::npos) << option;
  }
  const Parsed top = parse({"--help"});
  EXPECT_EQ(top.line.exit_code, 0);
  EXPECT_EQ(top.out.find("/some/build/tree"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("Usage: confine"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("report"), std::string::npos) << top.out;
}

TEST(CommandLine, NewRunOptionsReachTheOverrides) {
  const Parsed p = parse({"run", "--kill-after", "5s", "--file-size", "10M", "--open-files", "64", "--hostname",
                          "box", "--cpu-time", "2s", "-q", "--log-fd", "3", "--report-format", "text", "-i", "--",
                          "cat"});
  ASSERT_EQ(p.line.subcommand, Subcommand::kRun) << p.err;
  const auto& o = p.line.run.overrides;
  EXPECT_EQ(o.kill_after, "5s");
  EXPECT_EQ(o.file_size, "10M");
  EXPECT_EQ(o.open_files, "64");
  EXPECT_EQ(o.hostname, "box");
  EXPECT_EQ(o.cpu_time, "2s");
  EXPECT_TRUE(p.line.log.quiet);
  EXPECT_EQ(p.line.log.fd, 3);
  EXPECT_EQ(p.line.run.report_format, "text");
  EXPECT_EQ(p.line.run.stdin_mode, "relay");
}

TEST(CommandLine, OtherCommandsTakeDashesAsTheEndOfOptions) {
  const Parsed check = parse({"check", "--", "-odd.toml", "b.toml"});
  ASSERT_EQ(check.line.subcommand, Subcommand::kCheck) << check.err;
  EXPECT_EQ(check.line.check_policies, (std::vector<std::string>{"-odd.toml", "b.toml"}));
  const Parsed report = parse({"report", "/tmp/r.json"});
  ASSERT_EQ(report.line.subcommand, Subcommand::kReport) << report.err;
  EXPECT_EQ(report.line.report_file, "/tmp/r.json");
}

}  // namespace
}  // namespace confine::cli
