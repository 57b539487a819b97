// Parent-side setup cost, stage by stage: policy load, host probe, plan (seccomp compile and
// content hash included), and make_plan as a batch worker runs it (host and filters cached).
// Prints the first (cold) run and the median of warm runs, so the difference shows what page
// faults and cold caches cost against the work itself.
// Usage: plan_bench [POLICY] [RUNS] [batch]; with `batch`, only the batch worker's make_plan runs,
// in a loop, for a profiler.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "confine/host.h"
#include "confine/plan.h"
#include "confine/policy.h"

namespace {
using Clock = std::chrono::steady_clock;
double us(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::micro>(b - a).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : CONFINE_SOURCE_DIR "/policies/default.toml";
  const int runs = argc > 2 ? std::atoi(argv[2]) : 200;
  // "batch": only the batch worker's make_plan, in a loop, for a profiler (perf record).
  const bool batch_only = argc > 3 && std::string(argv[3]) == "batch";
  std::vector<double> load, probe, plan, hash, batch_plan;
  // What a batch worker pays per job: the host probed once and each filter compiled once, kept
  // in memory (cli::RunCache); only make_plan runs again.
  auto batch_host = confine::host::probe();
  batch_host.filter_cache = confine::seccomp::FilterCache::in_memory();
  if (batch_only) {
    auto loaded = confine::policy::load(path);
    if (!loaded.ok()) return 1;
    for (int i = 0; i < runs; ++i) {
      auto t0 = Clock::now();
      auto warm = confine::plan::make_plan(*loaded.policy, {{"/bin/true"}, {}, path}, batch_host);
      batch_plan.push_back(us(t0, Clock::now()));
      if (!warm) return 1;
    }
    std::printf("make_plan, batch: first %.1f us, median %.1f us\n", batch_plan[0], median(batch_plan));
    return 0;
  }
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    auto loaded = confine::policy::load(path);
    auto t1 = Clock::now();
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s does not load cleanly\n", path.c_str());
      return 1;
    }
    auto host = confine::host::probe();
    auto t2 = Clock::now();
    auto p = confine::plan::make_plan(*loaded.policy, {{"/bin/true"}, {}, path}, host);
    auto t3 = Clock::now();
    if (!p) {
      std::fprintf(stderr, "plan failed: %s\n", p.error().render().c_str());
      return 1;
    }
    auto h = confine::policy::content_hash(*loaded.policy);
    auto t4 = Clock::now();
    auto warm = confine::plan::make_plan(*loaded.policy, {{"/bin/true"}, {}, path}, batch_host);
    auto t5 = Clock::now();
    if (!warm) return 1;
    batch_plan.push_back(us(t4, t5));
    load.push_back(us(t0, t1));
    probe.push_back(us(t1, t2));
    plan.push_back(us(t2, t3));
    hash.push_back(us(t3, t4));
  }
  std::printf("%-22s %10s %10s\n", "stage", "cold_us", "warm_us");
  std::printf("%-22s %10.1f %10.1f\n", "policy::load", load[0], median(load));
  std::printf("%-22s %10.1f %10.1f\n", "host::probe", probe[0], median(probe));
  std::printf("%-22s %10.1f %10.1f\n", "plan::make_plan", plan[0], median(plan));
  std::printf("%-22s %10.1f %10.1f\n", "  (content_hash alone)", hash[0], median(hash));
  std::printf("%-22s %10.1f %10.1f\n", "make_plan, batch", batch_plan[0], median(batch_plan));
  return 0;
}
