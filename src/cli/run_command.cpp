// `confine run`: policy -> plan -> launch -> report. The only place that decides confine's exit
// code for a run. A bad policy, a bad option or a host that cannot enforce a required rule ends
// here with exit 125 and a report, and nothing is started.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "commands.h"
#include "confine/host.h"
#include "confine/launch.h"
#include "confine/plan.h"
#include "report_sink.h"

extern char** environ;

namespace confine::cli {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t micros_since(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

std::vector<std::string> caller_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

report::Report failed_report(const RunArgs& args, const std::string& policy_path) {
  report::Report r;
  r.confine_version = CONFINE_VERSION;
  r.command = args.command;
  r.policy_path = policy_path;
  r.outcome = report::Outcome::kSetupError;
  r.exit_code = report::kExitConfineFailed;
  return r;
}

int finish(ReportSink& sink, const report::Report& report) {
  if (auto written = sink.write(report); !written) {
    spdlog::error("{}", written.error().render());
    // The run itself may have succeeded, but a caller that asked for a report and did not get
    // one must not mistake this for success.
    return report::kExitConfineFailed;
  }
  return report.exit_code;
}

}  // namespace

// The filter cache's directory: CONFINE_SECCOMP_CACHE names another one, or "off" for none.
std::string filter_cache_dir() {
  const char* value = std::getenv("CONFINE_SECCOMP_CACHE");
  if (value == nullptr) return "/var/cache/confine/seccomp";
  return std::string(value) == "off" ? std::string() : std::string(value);
}

int run_command(const RunArgs& args) {
  const auto start = Clock::now();
  auto found = resolve_policy_argument(args.policy_path);
  const std::string policy_path = found ? *found : args.policy_path;

  auto opened = ReportSink::open(args.report_file, args.report_fd);
  if (!opened) {
    spdlog::error("{}", opened.error().render());
    return report::kExitConfineFailed;
  }
  ReportSink sink = std::move(*opened);

  if (!found) {
    spdlog::error("{}", found.error().render());
    auto r = failed_report(args, args.policy_path.empty() ? std::string("default") : args.policy_path);
    r.setup_error = report::SetupFailure{"policy", "", 0, found.error().render()};
    return finish(sink, r);
  }

  // 1. Policy: every problem at once, located; nothing starts on any of them.
  auto loaded = policy::load(policy_path, policy_load_options());
  std::vector<policy::Diagnostic> problems = loaded.diagnostics;
  if (loaded.policy) {
    auto override_problems = policy::apply_overrides(*loaded.policy, args.overrides);
    problems.insert(problems.end(), override_problems.begin(), override_problems.end());
  }
  if (!problems.empty() || !loaded.policy) {
    print_diagnostics(problems);
    auto r = failed_report(args, policy_path);
    r.setup_error = report::SetupFailure{"policy", policy_path, 0,
                                         problems.empty() ? "policy failed to load" : problems.front().str()};
    if (problems.size() > 1) {
      r.setup_error->message += " (and " + std::to_string(problems.size() - 1) + " more)";
    }
    return finish(sink, r);
  }
  const uint64_t policy_us = micros_since(start);

  // 2. Plan: resolve everything against this host; fail closed on what it cannot enforce.
  const auto plan_start = Clock::now();
  plan::HostFacts host = host::probe();
  // Run by root, compiled filters are reused from a cache only root can write (docs/seccomp.md).
  if (host.euid == 0) host.filter_cache = seccomp::FilterCache::open(filter_cache_dir());
  auto planned = plan::make_plan(
      *loaded.policy, plan::RunRequest{args.command, caller_environment(), policy_path, args.stdin_mode == "relay"},
      host);
  if (!planned) {
    const Error& e = planned.error();
    spdlog::error("{}", e.render());
    auto r = failed_report(args, policy_path);
    r.policy_sha256 = policy::content_hash(*loaded.policy);
    if (e.code == ErrorCode::kCommandNotFound) {
      r.outcome = report::Outcome::kExecError;
      r.exit_code = report::kExitNotFound;
      r.exec_error = report::ExecFailure{args.command.front(), ENOENT};
    } else {
      r.setup_error = report::SetupFailure{"plan", "", e.sys_errno, e.render()};
    }
    return finish(sink, r);
  }
  const plan::Plan& plan = *planned;
  const uint64_t plan_us = micros_since(plan_start);
  for (const auto& w : plan.warnings) spdlog::warn("{}", w);

  if (args.dry_run) {
    std::fputs(plan::render(plan).c_str(), stdout);
    return 0;
  }

  // 3. Launch and reap.
  report::Report r = launch::run(plan);
  r.phases.insert(r.phases.begin(), {report::Phase{"policy", policy_us}, report::Phase{"plan", plan_us}});
  return finish(sink, r);
}

}  // namespace confine::cli
