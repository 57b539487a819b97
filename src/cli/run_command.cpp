// `confine run`: policy -> plan -> launch -> report. The only place that decides confine's exit
// code for a run. A bad policy, a bad option or a host that cannot enforce a required rule ends
// here with exit 125 and a report, and nothing is started.
//
// What a person sees on confine's log (log.h): each warning as one short line (the whole story
// is in the report), confine's own errors, and for a run that does not end `ok` one line saying
// what happened (report::outcome_sentence). A non-zero exit of the job's own is the job's story,
// usually told on its own stderr: that line is shown from --log-level info on.
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "confine/host.h"
#include "confine/launch.h"
#include "confine/plan.h"
#include "log.h"
#include "preflight.h"
#include "report_sink.h"
#include "run_plan.h"

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

std::string caller_cwd() {
  std::error_code ec;
  const auto cwd = std::filesystem::current_path(ec);
  return ec ? std::string() : cwd.string();
}

// A run that ended before its target started: setup_error, or exec_error for a command the
// sandbox's PATH does not have. It carries the phases that ran.
report::Report failed_report(const RunArgs& args, const std::string& policy_path, std::vector<report::Phase> phases) {
  report::Report r;
  r.confine_version = CONFINE_VERSION;
  r.command = args.command;
  r.policy_path = policy_path;
  r.outcome = report::Outcome::kSetupError;
  r.exit_code = report::kExitConfineFailed;
  r.phases = std::move(phases);
  return r;
}

int finish(ReportSink& sink, const report::Report& report) {
  if (auto written = sink.write(report); !written) {
    error(written.error().render());
    // The run itself may have succeeded, but a caller that asked for a report and did not get
    // one must not mistake this for success.
    return report::kExitConfineFailed;
  }
  return report.exit_code;
}

// The one line for a run that did not end ok. Setup errors were logged as errors already.
void say_outcome(const report::Report& report) {
  if (report.outcome == report::Outcome::kOk || report.outcome == report::Outcome::kSetupError) return;
  const std::string line = report::outcome_sentence(report);
  if (line.empty()) return;
  const bool own_story = report.outcome == report::Outcome::kExitNonzero && !report.cancelled;
  say(line, own_story ? Said::kInfo : Said::kNotice);
}

}  // namespace

// The filter cache's directory: CONFINE_SECCOMP_CACHE names another one, or "off" for none.
std::string filter_cache_dir() {
  const char* value = std::getenv("CONFINE_SECCOMP_CACHE");
  if (value == nullptr) return "/var/cache/confine/seccomp";
  return std::string(value) == "off" ? std::string() : std::string(value);
}

namespace {

bool same_request(const plan::RunRequest& a, const plan::RunRequest& b) {
  return a.argv == b.argv && a.caller_env == b.caller_env && a.policy_path == b.policy_path &&
         a.relay_stdin == b.relay_stdin && a.audit == b.audit && a.learn == b.learn && a.caller_cwd == b.caller_cwd &&
         a.policy_sha256 == b.policy_sha256;
}

// make_plan, or in a batch the plan the same policy file, overrides and request got last time,
// when the host still answers every question that plan asked it the same way (run_plan.h).
Expected<plan::Plan> plan_with_memo(const policy::Policy& policy, const policy::Overrides& overrides,
                                    const plan::RunRequest& request, const plan::HostFacts& host, RunCache* cache) {
  if (cache == nullptr) return plan::make_plan(policy, request, host);
  const auto memo = cache->plans.find(request.policy_path);
  if (memo != cache->plans.end() && memo->second.overrides == overrides && same_request(memo->second.request, request) &&
      plan::answers_hold(host, memo->second.answers)) {
    return memo->second.plan;
  }
  auto answers = std::make_shared<std::vector<plan::HostAnswer>>();
  auto planned = plan::make_plan(policy, request, plan::recording(host, answers));
  if (planned) {
    cache->plans.insert_or_assign(request.policy_path, RunCache::PlanMemo{overrides, request, std::move(*answers), *planned});
  } else {
    cache->plans.erase(request.policy_path);
  }
  return planned;
}

}  // namespace

RunCache::Effective RunCache::effective_policy(policy::LoadResult loaded, const policy::Overrides& overrides) {
  Effective out;
  out.overrides = overrides;
  out.problems = loaded.diagnostics;
  if (loaded.policy) {
    auto override_problems = policy::apply_overrides(*loaded.policy, overrides);
    out.problems.insert(out.problems.end(), override_problems.begin(), override_problems.end());
  }
  out.loaded = std::move(loaded);
  return out;
}

PreparedRun prepare_run(const RunArgs& args, RunCache* cache) {
  const auto start = Clock::now();
  PreparedRun out;
  auto found = resolve_policy_argument(args.policy_path);
  const std::string policy_path = found ? *found : args.policy_path;
  if (!found) {
    error(found.error().render());
    auto r = failed_report(args, args.policy_path.empty() ? std::string("default") : args.policy_path,
                           {{"policy", micros_since(start)}});
    r.setup_error = report::SetupFailure{"policy", "", 0, found.error().render()};
    out.finished = std::move(r);
    return out;
  }

  // 1. Policy: every problem at once, located; nothing starts on any of them. A batch reads
  // each policy file once and layers each job's overrides over a copy, kept for the next job
  // with the same overrides (RunCache::Effective).
  RunCache::Effective own;
  RunCache::Effective* effective = &own;
  if (cache != nullptr) {
    auto it = cache->policies.find(policy_path);
    if (it == cache->policies.end()) it = cache->policies.emplace(policy_path, policy::load(policy_path, policy_load_options())).first;
    auto [known, fresh] = cache->effective.try_emplace(policy_path);
    effective = &known->second;
    if (fresh || !(effective->overrides == args.overrides)) *effective = RunCache::effective_policy(it->second, args.overrides);
  } else {
    own = RunCache::effective_policy(policy::load(policy_path, policy_load_options()), args.overrides);
  }
  const policy::LoadResult& loaded = effective->loaded;
  const std::vector<policy::Diagnostic>& problems = effective->problems;
  const uint64_t policy_us = micros_since(start);
  if (!problems.empty() || !loaded.policy) {
    print_diagnostics(problems);
    auto r = failed_report(args, policy_path, {{"policy", policy_us}});
    r.setup_error = report::SetupFailure{"policy", policy_path, 0,
                                         problems.empty() ? "policy failed to load" : problems.front().str()};
    if (problems.size() > 1) {
      r.setup_error->message += " (and " + std::to_string(problems.size() - 1) + " more)";
    }
    out.finished = std::move(r);
    return out;
  }

  // 2. Plan: resolve everything against this host; fail closed on what it cannot enforce.
  const auto plan_start = Clock::now();
  if (cache != nullptr && cache->host) {
    out.host = *cache->host;
  } else {
    out.host = host::probe();
    // Run by root, compiled filters are reused from a cache only root can write (docs/seccomp.md).
    if (out.host.euid == 0) out.host.filter_cache = seccomp::FilterCache::open(filter_cache_dir());
    if (cache != nullptr) {
      // A batch also keeps every filter it compiled or loaded in memory, rootless too.
      if (out.host.filter_cache) {
        out.host.filter_cache->remember();
      } else {
        out.host.filter_cache = seccomp::FilterCache::in_memory();
      }
      cache->host = out.host;
    }
  }
  const plan::HostFacts& host = out.host;
  plan::RunRequest request{args.command, caller_environment(), policy_path, args.stdin_mode == "relay", args.audit};
  request.caller_cwd = caller_cwd();
  request.learn = args.learn;
  if (cache != nullptr) {
    // Rendering the canonical text to hash it took about 45 us a job: once per effective policy.
    if (effective->sha256.empty()) effective->sha256 = policy::content_hash(*loaded.policy);
    request.policy_sha256 = effective->sha256;
  }
  auto planned = plan_with_memo(*loaded.policy, args.overrides, request, host, cache);
  if (!planned) {
    const Error& e = planned.error();
    auto r = failed_report(args, policy_path, {{"policy", policy_us}, {"plan", micros_since(plan_start)}});
    r.policy_sha256 = policy::content_hash(*loaded.policy);
    if (e.code == ErrorCode::kCommandNotFound) {
      // Not found in the sandbox's PATH: the target never started, as for a failed execve.
      r.outcome = report::Outcome::kExecError;
      r.exit_code = report::kExitNotFound;
      const auto envp = plan::build_env(loaded.policy->env, request.caller_env);
      r.exec_error = report::ExecFailure{plan::path_candidate(args.command.front(), envp, host), ENOENT,
                                         e.message + (e.hint.empty() ? "" : "; " + e.hint)};
      say(r.exec_error->message);
    } else {
      error(e.render());
      r.setup_error = report::SetupFailure{"plan", "", e.sys_errno, e.render()};
    }
    out.finished = std::move(r);
    return out;
  }
  plan::Plan plan = std::move(*planned);
  out.plan_us = micros_since(plan_start);
  out.policy_us = policy_us;
  // What the plan cannot see: host-side ownership of the directories the job writes.
  for (auto& w : unwritable_job_directories(plan, host.euid == 0, stat_path)) plan.warnings.push_back(std::move(w));
  for (const auto& w : plan.warnings) {
    if (cache == nullptr || cache->warned.insert(w).second) warning(w);
  }
  out.plan = std::move(plan);
  return out;
}

report::Report launch_prepared(const PreparedRun& prepared, learn::Observations* learned) {
  const plan::Plan& plan = *prepared.plan;
  report::Report r = launch::run(plan, learned);
  r.phases.insert(r.phases.begin(),
                  {report::Phase{"policy", prepared.policy_us}, report::Phase{"plan", prepared.plan_us}});
  if (r.exec_error) {
    r.exec_error->message = plan::explain_exec_failure(plan, prepared.host, r.exec_error->sys_errno, host::read_head);
  }
  return r;
}

int run_command(const RunArgs& args) {
  auto opened = ReportSink::open(args.report_file, args.report_fd,
                                 args.report_format == "text" ? ReportSink::Format::kText : ReportSink::Format::kJson);
  if (!opened) {
    error(opened.error().render());
    return report::kExitConfineFailed;
  }
  ReportSink sink = std::move(*opened);

  PreparedRun prepared = prepare_run(args);
  if (prepared.finished) return finish(sink, *prepared.finished);
  if (args.dry_run) {
    std::fputs(plan::render(*prepared.plan).c_str(), stdout);
    return 0;
  }

  // 3. Launch and reap.
  report::Report r = launch_prepared(prepared, args.learned);
  say_outcome(r);
  if (args.final_report != nullptr) *args.final_report = r;
  return finish(sink, r);
}

}  // namespace confine::cli
