// confine's entry point: parse the command line, set up logging, dispatch to a subcommand.
//
// Exit codes (docs/report.md): the target's own code; 128+N when it died of signal N; 124 on a
// timeout; 125 when confine itself fails (including bad usage); 126/127 when the command was
// found but not executable / not found.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "confine/report.h"

namespace {

using confine::cli::RunArgs;

// The logger is synchronous and writes to stderr only: the target's stdout is its own, and an
// asynchronous logger would add a thread, which the launcher refuses (a clone of a
// multi-threaded process may copy locks held by threads that no longer exist).
void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_st("confine");
  logger->set_pattern("confine: %l: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

void add_run_options(CLI::App& run, RunArgs& args, std::string& log_level) {
  run.add_option("-p,--policy", args.policy_path, "Policy file (default: the shipped default.toml)");
  run.add_option("--ro", args.overrides.ro, "Add a read-only path (repeatable)");
  run.add_option("--rw", args.overrides.rw, "Add a read-write path, e.g. the job directory (repeatable)");
  run.add_option("--cwd", args.overrides.cwd, "Working directory inside the sandbox");
  run.add_option("--env", args.overrides.env, "Set NAME=VALUE in the target's environment (repeatable)");
  run.add_option("--timeout", args.overrides.timeout, "Wall-time limit, e.g. 30s, 1m30s");
  run.add_option("--memory", args.overrides.memory, "Memory limit, e.g. 512M, 2G");
  run.add_option("--pids", args.overrides.pids, "Limit on processes and threads");
  run.add_option("--cpus", args.overrides.cpus, "CPU limit in CPUs, e.g. 0.5, 2");
  run.add_option("--net", args.overrides.net, "Network: none or host")->check(CLI::IsMember({"none", "host"}));
  run.add_flag("--best-effort", args.overrides.best_effort,
               "Run even if resource limits cannot be enforced on this host (reported)");
  run.add_option("--report", args.report_file, "Write the JSON report to FILE");
  run.add_option("--report-fd", args.report_fd, "Write the JSON report to file descriptor FD");
  run.add_option("--log-level", log_level, "trace, debug, info, warn (default), error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  run.add_flag("--dry-run", args.dry_run, "Print the plan and exit without running anything");
}

}  // namespace

int main(int argc, char** argv) {
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

  RunArgs run_args;
  std::string log_level = "warn";
  auto* run = app.add_subcommand("run", "Run CMD in a sandbox: confine run [OPTIONS] -- CMD [ARG...]");
  add_run_options(*run, run_args, log_level);

  std::vector<std::string> check_policies;
  auto* check = app.add_subcommand("check", "Validate policies; print every problem");
  check->add_option("POLICY", check_policies, "Policy files")->required();

  std::string explain_policy;
  bool explain_json = false;
  auto* explain = app.add_subcommand("explain", "Show the effective policy and where each value came from");
  explain->add_option("POLICY", explain_policy, "Policy file")->required();
  explain->add_flag("--json", explain_json, "Print JSON instead of text");

  std::string doctor_policy;
  bool doctor_json = false;
  auto* doctor = app.add_subcommand("doctor", "Check what this host can enforce, with the fix for each shortfall");
  doctor->add_option("-p,--policy", doctor_policy, "Policy to check (default: the shipped default.toml)");
  doctor->add_flag("--json", doctor_json, "Print JSON instead of text");

  try {
    app.parse(parse_argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return confine::report::kExitConfineFailed;
  }

  setup_logging(log_level);
  if (*run) {
    if (command.empty()) {
      std::fprintf(stderr, "confine run: no command given; usage: confine run [OPTIONS] -- CMD [ARG...]\n");
      return confine::report::kExitConfineFailed;
    }
    run_args.command = std::move(command);
    return confine::cli::run_command(run_args);
  }
  if (!command.empty()) {
    std::fprintf(stderr, "confine: '--' and a command are only accepted by 'run'\n");
    return confine::report::kExitConfineFailed;
  }
  if (*check) return confine::cli::check_command(check_policies);
  if (*explain) return confine::cli::explain_command(explain_policy, explain_json);
  if (*doctor) return confine::cli::doctor_command(doctor_policy, doctor_json);
  return confine::report::kExitConfineFailed;
}
