// `confine run` in two halves, so `confine batch` runs exactly what `run` runs: prepare_run()
// (policy, overrides, plan; every failure before launch becomes the same finished report run
// gives) and launch_prepared() (the sandbox and its report).
//
// A RunCache makes prepare_run() reuse, for the life of a batch, what does not change between
// jobs: each policy file loaded once (with its extends), the host probed once, and every
// seccomp filter compiled once (seccomp::FilterCache::in_memory). `confine run` passes none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "commands.h"
#include "confine/plan.h"
#include "confine/report.h"

namespace confine::cli {

struct RunCache {
  std::map<std::string, policy::LoadResult> policies;  // by resolved policy path
  // The last effective policy made from each file: the file's policy with a job's overrides
  // applied, what that found wrong, and its content hash once asked for. The next job with the
  // same overrides gets the same policy, so it is kept rather than copied, layered and checked
  // again (about 50 us a job, and 45 more to hash it). Overrides compare with a defaulted
  // operator==, so a field added to them is part of the key.
  struct Effective {
    policy::Overrides overrides;
    policy::LoadResult loaded;
    std::vector<policy::Diagnostic> problems;
    std::string sha256;  // empty until asked for
  };
  static Effective effective_policy(policy::LoadResult loaded, const policy::Overrides& overrides);
  std::map<std::string, Effective> effective;
  // The last plan made from each policy file, with what it was made from: the overrides, the
  // request, and every answer the host gave (plan::HostAnswer). The next job with the same
  // overrides and request reuses it when the host, asked again, answers the same.
  struct PlanMemo {
    policy::Overrides overrides;
    plan::RunRequest request;
    std::vector<plan::HostAnswer> answers;
    plan::Plan plan;
  };
  std::map<std::string, PlanMemo> plans;
  std::optional<plan::HostFacts> host;
  std::set<std::string> warned;  // each distinct warning is logged once per batch
};

struct PreparedRun {
  // Set when the run ended before launch (bad policy or options, a plan the host cannot
  // enforce, a command the sandbox's PATH lacks): the report, as `confine run` writes it.
  std::optional<report::Report> finished;
  // Otherwise the plan to launch, with the host it was made for and the phases so far.
  std::optional<plan::Plan> plan;
  plan::HostFacts host;
  uint64_t policy_us = 0;
  uint64_t plan_us = 0;
};

// Policy, overrides and plan for `args`. Logs errors and warnings as `run` does.
[[nodiscard]] PreparedRun prepare_run(const RunArgs& args, RunCache* cache = nullptr);
// Launches a prepared plan and returns its report (phases and exec error explained).
[[nodiscard]] report::Report launch_prepared(const PreparedRun& prepared, learn::Observations* learned = nullptr);
// The filter cache's directory: CONFINE_SECCOMP_CACHE names another one, or "off" for none.
[[nodiscard]] std::string filter_cache_dir();

}  // namespace confine::cli
