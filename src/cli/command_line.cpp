// parse_command_line(): argv to a CommandLine (see command_line.h).
//
// CLI11 does the option parsing; what it would get wrong for a prefix command is decided here:
// where the target's argv starts, what an unknown word was meant to be, and the form of every
// usage error (one line, `confine: error: `, the fix or the nearest valid name when there is one).
#include "command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <ostream>

#include "confine/report.h"

namespace confine::cli {
namespace {

constexpr const char* kRunUsage = "confine run [OPTIONS] -- CMD [ARG...]";
constexpr const char* kLearnUsage = "confine learn [OPTIONS] -- CMD [ARG...]";

struct SubcommandName {
  const char* name;
  Subcommand subcommand;
};
constexpr SubcommandName kSubcommands[] = {{"run", Subcommand::kRun},
                                           {"check", Subcommand::kCheck},
                                           {"explain", Subcommand::kExplain},
                                           {"doctor", Subcommand::kDoctor},
                                           {"report", Subcommand::kReport},
                                           {"learn", Subcommand::kLearn},
                                           {"batch", Subcommand::kBatch}};

// Help text with confine's own usage lines: the program is "confine" wherever the binary lives,
// and run's line shows where the command goes.
class Formatter final : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    if (app->get_name() == "run") return std::string("Usage: ") + kRunUsage + "\n";
    if (app->get_name() == "learn") return std::string("Usage: ") + kLearnUsage + "\n";
    return CLI::Formatter::make_usage(app, std::move(name));
  }
};

void add_run_options(CLI::App& run, RunArgs& args, LogOptions& log) {
  // Every option takes exactly one value per use; a list is built by repeating the option
  // (`--ro /a --ro /b`), so a value can never swallow the command that follows it.
  auto one = [](CLI::Option* option) { return option->allow_extra_args(false); };
  auto& o = args.overrides;
  run.add_option("-p,--policy", args.policy_path,
                 "Policy: a file, or a name found on the policy search path (default: default)");
  one(run.add_option("--ro", o.ro, "Add a read-only path (repeat for more)"));
  one(run.add_option("--rw", o.rw, "Add a read-write path, e.g. the job directory (repeat for more)"));
  one(run.add_option("--deny", o.deny, "Mask a path even inside an allowed tree (repeat for more)"));
  one(run.add_option("--tmpfs", o.tmpfs, "Add a private tmpfs at PATH[:SIZE] (default size 64M; repeat for more)"));
  run.add_option("--cwd", o.cwd,
                 "Working directory inside the sandbox (default: the policy's, or the caller's "
                 "own when the sandbox shows it)");
  run.add_option("--hostname", o.hostname, "Hostname inside the sandbox");
  one(run.add_option("--env", o.env, "Set NAME=VALUE in the target's environment (repeat for more)"));
  one(run.add_option("--keep-env", o.keep_env, "Pass the caller's NAME (or glob) through (repeat for more)"));
  run.add_option("--timeout", o.timeout, "Wall-time limit, e.g. 30s, 1m30s");
  run.add_option("--cpu-time", o.cpu_time, "CPU-time limit for the whole job, e.g. 10s");
  run.add_option("--kill-after", o.kill_after,
                 "Grace between SIGTERM and SIGKILL when a limit or a cancel ends the job (default 2s)");
  run.add_option("--memory", o.memory, "Memory limit, e.g. 512M, 2G");
  run.add_option("--pids", o.pids, "Limit on processes and threads");
  run.add_option("--cpus", o.cpus, "CPU limit in CPUs, e.g. 0.5, 2");
  run.add_option("--file-size", o.file_size, "Largest file the job may write, e.g. 100M");
  run.add_option("--open-files", o.open_files, "Open file descriptors per process");
  run.add_option("--max-output", o.max_output,
                 "Cap on the job's stdout and stderr together, e.g. 10M; past it the job is killed "
                 "(outcome output_limit, exit 153)");
  run.add_option("--output", o.output,
                 "Give the job an output area (a capped tmpfs, /out by default) whose regular files are "
                 "copied into DIR when it ends; DIR is created and must not exist or be empty");
  run.add_option("--net", o.net, "Network: none or host");
  run.add_option("--stdin", args.stdin_mode,
                 "The job's stdin: null (default, /dev/null) or relay (confine's own stdin, relayed)")
      ->check(CLI::IsMember({"null", "relay"}));
  run.add_flag_callback("-i", [&args] { args.stdin_mode = "relay"; }, "Same as --stdin relay");
  run.add_option("--isolation", o.isolation,
                 "namespaces (default), landlock (no namespaces, for hosts without user namespaces), or auto "
                 "(namespaces where possible, else landlock, with a warning); overrides isolation.mode")
      // Checked with the other overrides (apply_overrides), as batch's "isolation" is: one
      // message, with a did-you-mean, and a setup_error report.
      ->type_name("MODE");
  run.add_flag("--best-effort", o.best_effort,
               "Run even if resource limits cannot be enforced on this host (reported); without it, "
               "a limit given on the command line is required");
  run.add_option("--report", args.report_file, "Write the report to FILE (- for stdout)");
  run.add_option("--report-fd", args.report_fd, "Write the report to file descriptor FD");
  run.add_option("--report-format", args.report_format, "json (default) or text (for a person)")
      ->check(CLI::IsMember({"json", "text"}));
  run.add_option("--log-level", log.level, "trace, debug, info, warn (default), error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  run.add_option("--log-fd", log.fd, "Write confine's own lines to file descriptor FD instead of stderr");
  run.add_option("--log-file", log.file, "Write confine's own lines to FILE instead of stderr");
  run.add_flag("-q,--quiet", log.quiet, "Print nothing but confine's own errors");
  run.add_flag("--dry-run", args.dry_run, "Print the plan and exit without running anything");
  run.add_flag("--audit", args.audit,
               "Complain mode for a policy under development: nothing the seccomp filter would deny is "
               "denied; every such call, and every path the job tried that exists on the host but is "
               "not in the sandbox, is listed in the report's audit (which marks the run as not enforcing)");
}

int usage_error(std::ostream& err, const std::string& message) {
  err << "confine: error: " << message << "\n";
  return report::kExitConfineFailed;
}

// "--tmeout" -> "--timeout": the option of `app` nearest to the word, or "".
std::string nearest_option(const CLI::App& app, std::string word) {
  word = word.substr(0, word.find('='));
  std::vector<std::string> names{"--help"};
  for (const CLI::Option* option : app.get_options()) {
    for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    for (const auto& name : option->get_snames()) names.push_back("-" + name);
  }
  std::vector<std::string_view> views(names.begin(), names.end());
  return policy::closest_name(word, views);
}

int unknown_option(std::ostream& err, const CLI::App& app, const std::string& subcommand, const std::string& word) {
  const std::string near = nearest_option(app, word);
  return usage_error(err, subcommand + ": unknown option '" + word + "'" +
                              (near.empty() ? "" : "; did you mean '" + near + "'?") + " (see 'confine " + subcommand +
                              " --help')");
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

bool is_option(const std::string& word) { return word.size() > 1 && word.front() == '-'; }

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CommandLine line;
  const std::string first = argc > 1 ? argv[1] : "";
  if (is_option(first) && first != "-h" && first != "--help" && first != "--version") {
    line.exit_code = usage_error(err, "unknown option '" + first +
                                          "' before the command; options go after it, e.g. confine run " +
                                          first + " ... (see 'confine --help')");
    return line;
  }
  // The command is always the first argument (confine itself takes no options but --help and
  // --version), so "--" below is looked for in the right place; an empty one is no command.
  if (argc > 1 && first.empty()) {
    line.exit_code = usage_error(err, "unknown command ''; the commands are run, learn, batch, check, explain, doctor and report");
    return line;
  }
  // A lone "-" is a word, not an option, so it is checked as a command like any other word:
  // let through, CLI11 would look for a command further on, past a "--" that was never looked for.
  if (!first.empty() && (first.front() != '-' || first == "-")) {
    const bool known = std::any_of(std::begin(kSubcommands), std::end(kSubcommands),
                                   [&](const SubcommandName& s) { return first == s.name; });
    if (!known) {
      std::vector<std::string_view> names;
      for (const auto& s : kSubcommands) names.emplace_back(s.name);
      const std::string near = policy::closest_name(first, names);
      line.exit_code = usage_error(err, "unknown command '" + first + "'" +
                                            (near.empty() ? "; the commands are run, learn, batch, check, explain, doctor and report"
                                                          : "; did you mean '" + near + "'?"));
      return line;
    }
  }

  // For run, everything after the first "--" is the target's argv, verbatim: no option parsing,
  // no shell. Elsewhere "--" only ends the options, as usual (`confine check -- -odd.toml`).
  std::vector<std::string> command;
  bool has_dashes = false;
  int parse_argc = argc;
  if (first == "run" || first == "learn") {
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--") == 0) {
        command.assign(argv + i + 1, argv + argc);
        parse_argc = i;
        has_dashes = true;
        break;
      }
    }
  }

  CLI::App app{"confine: run an untrusted command in a sandbox described by a TOML policy", "confine"};
  app.formatter(std::make_shared<Formatter>());
  app.footer("Run 'confine COMMAND --help' for a command's options; man confine for the whole story.");
  app.set_version_flag("--version", std::string("confine ") + CONFINE_VERSION);
  app.allow_extras();
  // One command: a second command word ("doctor ... run ...") is an argument of the first, not a
  // switch to another command whose "--" was never looked for.
  app.require_subcommand(0, 1);

  // Only the command named first is built when there is one (it was checked above): no other
  // can be parsed, since with at most one command CLI11 takes a second command word for an
  // argument of the first, registered or not. Building every command, its options, validators
  // and help strings cost each launch about 0.3 ms. `confine`, `confine --help` and `confine
  // --version` build them all, for the list of commands.
  const auto wanted = [&first](const char* name) { return first.empty() || first.front() == '-' || first == name; };
  // The command `name`, or nullptr when it is not the one named.
  const auto add_command = [&](const char* name, const char* description) {
    return wanted(name) ? app.add_subcommand(name, description) : nullptr;
  };
  auto* run = add_command("run", "Run CMD in a sandbox: confine run [OPTIONS] -- CMD [ARG...]");
  if (run != nullptr) {
    add_run_options(*run, line.run, line.log);
    // The first word that is no option of run's ends run's options: the command, when "--" was
    // left out (`confine run --rw /job gzip input.txt`), or a misspelt option, told apart below.
    run->prefix_command();
    run->footer(
        "The command starts after '--', or at the first argument that is not an option of run's. Exit "
        "codes: the command's own, 128+N when it died of signal N, 124 time limit, 125 confine failed, "
        "126 not executable, 127 not found (man confine-run).");
  }

  auto* learn = add_command("learn", "Run CMD once and write a least-privilege policy for it from what it did");
  if (learn != nullptr) {
    auto one = [](CLI::Option* option) { return option->allow_extra_args(false); };
    LearnArgs& a = line.learn;
    learn->add_option("-p,--policy", a.base,
                      "The isolation to learn under (default: learn-base: the system read-only, no home "
                      "directories, no credential stores)");
    learn->add_option("--out", a.out, "Write the learned policy to FILE (default: stdout)");
    one(learn->add_option("--merge", a.merge, "Union with a policy an earlier learn wrote (repeat for more)"));
    one(learn->add_option("--rw", a.rw, "A read-write directory, e.g. the job directory (repeat for more)"));
    one(learn->add_option("--ro", a.ro,
                          "Show PATH read-only while learning, besides the base's; what the job uses of it is "
                          "learned like the rest (repeat for more)"));
    learn->add_option("--cwd", a.cwd,
                      "Working directory inside the sandbox; when it is a --ro or --rw directory it is the "
                      "job's, and nothing under it is learned");
    learn->add_option("--output", a.output,
                      "Give the job an output area, as run's --output (a capped tmpfs, /out by default, "
                      "copied into DIR when it ends); what the job does there is not learned");
    learn->add_flag("--allow-failure", a.allow_failure, "Write the policy even if the job did not succeed");
    learn->add_option("--report", a.report_file, "Write the run's report to FILE (- for stdout)");
    learn->add_option("--log-level", line.log.level, "trace, debug, info, warn (default), error, off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    learn->add_flag("-q,--quiet", line.log.quiet, "Print nothing but confine's own errors");
    learn->prefix_command();
  }
  auto* batch = add_command("batch", "Run many jobs from JSON-lines requests on stdin, one report line each on stdout");
  if (batch != nullptr) {
    batch->add_option("-j,--jobs", line.batch.jobs, "Jobs running at once (default 1)")
        ->check(CLI::Range(size_t{1}, size_t{1024}));
    batch->add_option("--log-level", line.log.level, "trace, debug, info, warn (default), error, off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    batch->add_option("--log-fd", line.log.fd, "Write confine's own lines to file descriptor FD instead of stderr");
    batch->add_option("--log-file", line.log.file, "Write confine's own lines to FILE instead of stderr");
    batch->add_flag("-q,--quiet", line.log.quiet, "Print nothing but confine's own errors");
    batch->footer("Requests and reports: docs/batch.md (man confine-batch).");
    batch->allow_extras();
  }

  auto* check = add_command("check", "Validate policies; print every problem");
  if (check != nullptr) {
    check->add_option("POLICY", line.check_policies, "Policy files or names")->required();
    check->allow_extras();
  }

  auto* explain = add_command("explain", "Show the effective policy and where each value came from");
  if (explain != nullptr) {
    explain->add_option("POLICY", line.explain_policy, "Policy file or name")->required();
    explain->add_flag("--json", line.explain_json, "Print JSON instead of text");
    explain->allow_extras();
  }

  auto* doctor = add_command("doctor", "Will a policy run here, and what will not be enforced");
  if (doctor != nullptr) {
    doctor->add_option("-p,--policy", line.doctor_policy, "Policy to check (default: default)");
    doctor->add_flag("--json", line.doctor_json, "Print JSON instead of text");
    doctor->add_option("--isolation", line.doctor_isolation, "Check the policy with this isolation mode, as run would")
        ->check(CLI::IsMember({"namespaces", "landlock", "auto"}));
    doctor->allow_extras();
  }

  auto* report_cmd = add_command("report", "Print a JSON report (from --report) for a person");
  if (report_cmd != nullptr) {
    report_cmd->add_option("FILE", line.report_file, "The report file, or - for stdin")->required();
    report_cmd->allow_extras();
  }

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
    const std::string where = first.empty() || first.front() == '-' ? "" : first + ": ";
    line.exit_code = usage_error(err, where + e.what() + " (see 'confine " + (where.empty() ? "" : first + " ") + "--help')");
    return line;
  }

  if (run != nullptr && *run) {
    std::vector<std::string> rest = run->remaining();
    if (!rest.empty() && is_option(rest.front())) {
      line.exit_code = unknown_option(err, *run, "run", rest.front());
      return line;
    }
    if (!rest.empty() && has_dashes) {
      line.exit_code = usage_error(err, "run: '" + joined(rest) +
                                            "' before '--': options go before '--', the command and its "
                                            "arguments after it; usage: " + kRunUsage);
      return line;
    }
    if (!has_dashes) command = std::move(rest);
    if (command.empty()) {
      line.exit_code = usage_error(err, std::string("run: no command given; usage: ") + kRunUsage);
      return line;
    }
    line.subcommand = Subcommand::kRun;
    line.run.command = std::move(command);
    return line;
  }

  if (learn != nullptr && *learn) {
    std::vector<std::string> rest = learn->remaining();
    if (!rest.empty() && is_option(rest.front())) {
      line.exit_code = unknown_option(err, *learn, "learn", rest.front());
      return line;
    }
    if (!rest.empty() && has_dashes) {
      line.exit_code = usage_error(err, "learn: '" + joined(rest) + "' before '--'; usage: " + kLearnUsage);
      return line;
    }
    if (!has_dashes) command = std::move(rest);
    if (command.empty()) {
      line.exit_code = usage_error(err, std::string("learn: no command given; usage: ") + kLearnUsage);
      return line;
    }
    line.subcommand = Subcommand::kLearn;
    line.learn.command = std::move(command);
    return line;
  }

  for (const auto& [sub, which] : {std::pair{check, Subcommand::kCheck}, std::pair{explain, Subcommand::kExplain},
                                   std::pair{doctor, Subcommand::kDoctor}, std::pair{report_cmd, Subcommand::kReport},
                                   std::pair{batch, Subcommand::kBatch}}) {
    if (sub == nullptr || !*sub) continue;
    // CLI11 keeps the "--" that ended the options among the extras; it is no argument.
    std::vector<std::string> rest = sub->remaining();
    rest.erase(std::remove(rest.begin(), rest.end(), "--"), rest.end());
    if (!rest.empty()) {
      line.exit_code = is_option(rest.front())
                           ? unknown_option(err, *sub, sub->get_name(), rest.front())
                           : usage_error(err, sub->get_name() + ": unexpected argument '" + rest.front() + "'");
      return line;
    }
    line.subcommand = which;
    if (which == Subcommand::kBatch) line.batch.log = line.log;
    return line;
  }
  line.exit_code = usage_error(err, "no command given; usage: confine run|learn|batch|check|explain|doctor|report [OPTIONS] "
                                    "(see 'confine --help')");
  return line;
}

}  // namespace confine::cli
