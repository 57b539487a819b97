// parse_command_line(): argv to a CommandLine (see command_line.h).
#include "command_line.h"

#include <CLI/CLI.hpp>
#include <cstring>
#include <ostream>

#include "confine/report.h"

namespace confine::cli {
namespace {

void add_run_options(CLI::App& run, RunArgs& args, std::string& log_level) {
  run.add_option("-p,--policy", args.policy_path, "Policy file (default: the shipped default.toml)");
  run.add_option("--ro", args.overrides.ro, "Add a read-only path (repeatable)");
  run.add_option("--rw", args.overrides.rw, "Add a read-write path, e.g. the job directory (repeatable)");
  run.add_option("--cwd", args.overrides.cwd, "Working directory inside the sandbox");
  run.add_option("--env", args.overrides.env, "Set NAME=VALUE in the target's environment (repeatable)");
  run.add_option("--timeout", args.overrides.timeout, "Wall-time limit, e.g. 30s, 1m30s");
  run.add_option("--cpu-time", args.overrides.cpu_time, "CPU-time limit for the whole job, e.g. 10s");
  run.add_option("--memory", args.overrides.memory, "Memory limit, e.g. 512M, 2G");
  run.add_option("--pids", args.overrides.pids, "Limit on processes and threads");
  run.add_option("--cpus", args.overrides.cpus, "CPU limit in CPUs, e.g. 0.5, 2");
  run.add_option("--net", args.overrides.net, "Network: none or host")->check(CLI::IsMember({"none", "host"}));
  run.add_option("--max-output", args.overrides.max_output,
                 "Cap on the job's stdout and stderr together, e.g. 10M; past it the job is killed "
                 "(outcome output_limit, exit 153)");
  run.add_option("--output", args.overrides.output,
                 "Give the job an output area (a capped tmpfs, /out by default) whose regular files are "
                 "copied into DIR when it ends; DIR is created and must not exist or be empty");
  run.add_option("--stdin", args.stdin_mode,
                 "The job's stdin: null (default, /dev/null) or relay (confine's own stdin, relayed)")
      ->check(CLI::IsMember({"null", "relay"}));
  run.add_flag_callback("-i", [&args] { args.stdin_mode = "relay"; }, "Same as --stdin relay");
  run.add_flag("--best-effort", args.overrides.best_effort,
               "Run even if resource limits cannot be enforced on this host (reported)");
  run.add_option("--report", args.report_file, "Write the JSON report to FILE");
  run.add_option("--report-fd", args.report_fd, "Write the JSON report to file descriptor FD");
  run.add_option("--log-level", log_level, "trace, debug, info, warn (default), error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  run.add_flag("--dry-run", args.dry_run, "Print the plan and exit without running anything");
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CommandLine line;
  // Everything after the first "--" is the target's argv, verbatim: no option parsing, no shell.
  std::vector<std::string> command;
  int parse_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      command.assign(argv + i + 1, argv + argc);
      parse_argc = i;
      break;
    }
  }

  CLI::App app{"confine: run an untrusted command in a sandbox described by a TOML policy"};
  app.set_version_flag("--version", std::string("confine ") + CONFINE_VERSION);
  app.require_subcommand(1);

  auto* run = app.add_subcommand("run", "Run CMD in a sandbox: confine run [OPTIONS] -- CMD [ARG...]");
  add_run_options(*run, line.run, line.log_level);

  auto* check = app.add_subcommand("check", "Validate policies; print every problem");
  check->add_option("POLICY", line.check_policies, "Policy files")->required();

  auto* explain = app.add_subcommand("explain", "Show the effective policy and where each value came from");
  explain->add_option("POLICY", line.explain_policy, "Policy file")->required();
  explain->add_flag("--json", line.explain_json, "Print JSON instead of text");

  auto* doctor = app.add_subcommand("doctor", "Check what this host can enforce, with the fix for each shortfall");
  doctor->add_option("-p,--policy", line.doctor_policy, "Policy to check (default: the shipped default.toml)");
  doctor->add_flag("--json", line.doctor_json, "Print JSON instead of text");

  try {
    app.parse(parse_argc, argv);
  } catch (const CLI::CallForHelp& e) {
    line.exit_code = app.exit(e, out, err);
    return line;
  } catch (const CLI::CallForAllHelp& e) {
    line.exit_code = app.exit(e, out, err);
    return line;
  } catch (const CLI::CallForVersion& e) {
    line.exit_code = app.exit(e, out, err);
    return line;
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e, out, err);
    line.exit_code = report::kExitConfineFailed;
    return line;
  }

  if (*run) {
    if (command.empty()) {
      err << "confine run: no command given; usage: confine run [OPTIONS] -- CMD [ARG...]\n";
      line.exit_code = report::kExitConfineFailed;
      return line;
    }
    line.subcommand = Subcommand::kRun;
    line.run.command = std::move(command);
    return line;
  }
  if (!command.empty()) {
    err << "confine: '--' and a command are only accepted by 'run'\n";
    line.exit_code = report::kExitConfineFailed;
    return line;
  }
  if (*check) line.subcommand = Subcommand::kCheck;
  if (*explain) line.subcommand = Subcommand::kExplain;
  if (*doctor) line.subcommand = Subcommand::kDoctor;
  if (line.subcommand == Subcommand::kNone) line.exit_code = report::kExitConfineFailed;
  return line;
}

}  // namespace confine::cli
