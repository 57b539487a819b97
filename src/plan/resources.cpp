// Resource limits as cgroup v2 control-file writes, decided against the controllers this host
// actually delegates. A limit whose controller is missing is an error when resources are
// required (fail closed) and a reported, skipped protection when they are best-effort.
#include <algorithm>
#include <cmath>
#include <string>

#include "confine/plan.h"
#include "steps.h"

namespace confine::plan::steps {
namespace {

constexpr uint64_t kCpuPeriodUs = 100000;  // cpu.max period; quota is cpus * period
constexpr uint64_t kMinCpuQuotaUs = 1000;  // the kernel refuses quotas below 1ms

report::Protection not_requested(std::string name, std::string mechanism) {
  return {std::move(name), "not_requested", std::move(mechanism), "no limit set"};
}

// The command that gives an unprivileged user a cgroup of its own (docs/cgroups.md).
constexpr const char* kDelegateFix = "systemd-run --user --scope -p Delegate=yes confine run ...";

// What stands in for a limit when its controller is missing and resources are best-effort.
enum class Fallback { kNone, kNproc, kAddressSpace };

// One limit the policy asked for, and what enforcing it takes.
struct Want {
  std::string key;         // "limits.memory"
  std::string flag;        // "--memory": the run option that sets it ("" when none)
  policy::Origin origin;   // who set it: a file, or the command line
  std::string controller;  // "memory"; empty = any cgroup (cpu.stat accounting)
  std::string value_text;  // for messages and the report
  std::vector<CgroupWrite> writes;
  report::Protection* protection;
  Fallback fallback = Fallback::kNone;
  uint64_t fallback_value = 0;
};

// Why a limit is not in force, short enough for one line of confine's log (the report's
// `enforced` entry has the whole story).
std::string short_why(const Want& want) {
  return want.controller.empty() ? "no cgroup for the job here" : "no cgroup v2 '" + want.controller + "' controller here";
}

// A missing controller's stand-in, applied to `protection` (which keeps the cgroup as the
// mechanism it would have used only in `detail`). Returns false when there is none on this host.
bool apply_fallback(const Want& want, const HostFacts& host, const std::string& why, Resources& out) {
  report::Protection& protection = *want.protection;
  switch (want.fallback) {
    case Fallback::kNproc:
      if (!nproc_counts_per_userns(host.kernel_release)) return false;
      out.fallback_rlimits.push_back(nproc_fallback(want.fallback_value));
      protection.status = "enforced_fallback";
      protection.mechanism = "rlimit RLIMIT_NPROC (per user namespace)";
      protection.detail = want.value_text + " processes (threads count) of the sandbox uid; " + why +
                          ". RLIMIT_NPROC on Linux >= 5.14 counts only the sandbox's own processes and "
                          "threads (per user namespace). Covered: fork and clone past the limit fail with "
                          "EAGAIN. Not covered: pids.events accounting in the report";
      out.warnings.push_back(want.key + " = " + want.value_text + ": " + short_why(want) +
                             "; fell back to RLIMIT_NPROC (per user namespace)");
      return true;
    case Fallback::kAddressSpace:
      out.fallback_rlimits.push_back(address_space_fallback(want.fallback_value));
      protection.status = "enforced_fallback";
      protection.mechanism = "rlimit RLIMIT_AS (per process address space)";
      protection.detail = want.value_text + " of address space per process, not a job total; " + why +
                          ". Covered: each process's virtual address space is capped at " + want.value_text +
                          " (allocations past it fail with ENOMEM; programs that reserve large ranges, such as "
                          "Go, the JVM or sanitizers, may fail early). Not covered: the job's total, since every "
                          "process gets its own " + want.value_text + ", nor page cache, tmpfs or kernel memory; "
                          "an overrun is not reported as an OOM kill";
      out.warnings.push_back(want.key + " = " + want.value_text + ": " + short_why(want) +
                             "; fell back to RLIMIT_AS (per process, not the job's total)");
      return true;
    case Fallback::kNone:
      return false;
  }
  return false;
}

}  // namespace

Expected<Resources> plan_resources(const policy::Policy& policy, const HostFacts& host,
                                   RlimitFallbacks fallbacks) {
  const auto& limits = policy.limits;
  Resources out;
  out.cgroup_parent = host.cgroup_parent;
  out.cpu_time = limits.cpu_time.value;
  out.memory_limit = not_requested("memory_limit", "cgroup v2 memory.max");
  out.memory_high = not_requested("memory_high", "cgroup v2 memory.high");
  out.swap_limit = not_requested("swap_limit", "cgroup v2 memory.swap.max");
  out.pids_limit = not_requested("pids_limit", "cgroup v2 pids.max");
  out.cpu_limit = not_requested("cpu_limit", "cgroup v2 cpu.max");
  out.cpu_time_limit = not_requested("cpu_time", "cgroup v2 cpu.stat usage_usec, polled");

  const bool have_cgroup = !host.cgroup_parent.empty();
  if (have_cgroup) {
    out.cgroup_tracking = {"cgroup_tracking", "enforced", "cgroup v2 leaf (clone3 CLONE_INTO_CGROUP)",
                           host.cgroup_parent + (host.cgroup_parent_source.empty()
                                                     ? std::string()
                                                     : " (" + host.cgroup_parent_source + ")")};
  } else {
    out.cgroup_tracking = {"cgroup_tracking", "best_effort_skipped", "cgroup v2 leaf",
                           "no usable cgroup v2 directory; the pid namespace is the kill unit"};
    if (host.euid != 0) {
      out.cgroup_tracking.detail += "; as an unprivileged user, run confine in a cgroup delegated to you: ";
      out.cgroup_tracking.detail += kDelegateFix;
    }
    out.warnings.emplace_back(
        "no cgroup for the job: its resources are not tracked, the pid namespace is its kill unit "
        "(`confine doctor` shows how to get one)");
  }

  std::vector<Want> wants;
  if (limits.memory_bytes.value) {
    const std::string bytes = std::to_string(*limits.memory_bytes.value);
    // memory.oom.group: an OOM kill takes the whole job, not one arbitrary process of it.
    wants.push_back({"limits.memory", "--memory", limits.memory_bytes.origin, "memory", size_text(*limits.memory_bytes.value),
                     {{"memory.max", bytes}, {"memory.oom.group", "1"}}, &out.memory_limit,
                     Fallback::kAddressSpace, *limits.memory_bytes.value});
  }
  if (const auto& high = limits.memory_high_bytes.value) {
    // The policy loader checks this per file; --memory can still lower memory below it.
    if (limits.memory_bytes.value && *high > *limits.memory_bytes.value) {
      return fail(ErrorCode::kInvalidArgument,
                  "limits.memory_high = " + size_text(*high) + " (" + limits.memory_high_bytes.origin.str() +
                      ") is above limits.memory = " + size_text(*limits.memory_bytes.value) + " (" +
                      limits.memory_bytes.origin.str() + ")",
                  "memory_high is where the kernel starts reclaiming and throttling; it must not exceed "
                  "the hard limit memory");
    }
    // memory.high throttles and reclaims instead of killing; no rlimit does that.
    wants.push_back({"limits.memory_high", "", limits.memory_high_bytes.origin, "memory", size_text(*high), {{"memory.high", std::to_string(*high)}},
                     &out.memory_high});
  }
  // Swap matters only under a memory limit, or when the author wrote it down.
  if (limits.memory_bytes.value || !limits.swap_bytes.origin.is_default()) {
    const auto& swap = limits.swap_bytes.value;
    wants.push_back({"limits.swap", "", limits.swap_bytes.origin, "memory", swap ? size_text(*swap) : "unlimited",
                     {{"memory.swap.max", swap ? std::to_string(*swap) : "max"}}, &out.swap_limit});
  }
  if (limits.pids.value) {
    const std::string n = std::to_string(*limits.pids.value);
    wants.push_back({"limits.pids", "--pids", limits.pids.origin, "pids", n, {{"pids.max", n}}, &out.pids_limit, Fallback::kNproc,
                     *limits.pids.value});
  }
  if (limits.cpus.value) {
    const double quota = std::round(*limits.cpus.value * static_cast<double>(kCpuPeriodUs));
    const uint64_t quota_us = std::max(kMinCpuQuotaUs, static_cast<uint64_t>(std::max(quota, 0.0)));
    const std::string value = std::to_string(quota_us) + " " + std::to_string(kCpuPeriodUs);
    wants.push_back({"limits.cpus", "--cpus", limits.cpus.origin, "cpu", value, {{"cpu.max", value}}, &out.cpu_limit});
  }
  if (limits.cpu_time.value) {
    wants.push_back({"limits.cpu_time", "--cpu-time", limits.cpu_time.origin, "", std::to_string(limits.cpu_time.value->count()) + "ms",
                     {}, &out.cpu_time_limit});
  }

  const auto& controllers = host.cgroup_controllers;
  const auto available = [&](const Want& want) {
    if (!have_cgroup) return false;
    return want.controller.empty() ||
           std::find(controllers.begin(), controllers.end(), want.controller) != controllers.end();
  };
  const std::string where = have_cgroup ? host.cgroup_parent : "no usable cgroup v2 directory";
  const auto needs = [](const Want& want) {
    return want.controller.empty() ? std::string("a cgroup (cpu.stat accounting)")
                                   : "the cgroup v2 '" + want.controller + "' controller";
  };

  // What may run without its limit: nothing under enforcement.resources = required. Under
  // best-effort, a limit the caller typed on the command line (--memory 512M) is still required,
  // unless the caller typed --best-effort too: asking for a limit and silently not getting it is
  // how a 2s CPU limit became a 20s run.
  const auto& enforcement = policy.enforcement.resources;
  const bool policy_required = enforcement.value == policy::Enforcement::kRequired;
  const bool caller_accepts_gaps = !policy_required && enforcement.origin.is_command_line();
  const auto required = [&](const Want& want) {
    return policy_required || (want.origin.is_command_line() && !caller_accepts_gaps);
  };
  std::vector<const Want*> missing;
  for (const Want& want : wants) {
    if (!available(want) && required(want)) missing.push_back(&want);
  }
  if (!missing.empty()) {
    std::string list;
    for (const Want* want : missing) {
      if (!list.empty()) list += ", ";
      const bool typed = want->origin.is_command_line() && !want->flag.empty();
      list += (typed ? want->flag + " " : want->key + " = ") + want->value_text + " needs " + needs(*want);
    }
    const std::string why = policy_required ? " (enforcement.resources = required at " + enforcement.origin.str() + ")"
                                            : " (a limit given on the command line is required unless --best-effort "
                                              "is given too)";
    const std::string relax = policy_required ? "mark resources best-effort (enforcement.resources = \"best-effort\") "
                                                "or pass --best-effort"
                                              : "add --best-effort to run without it (the report says what was not "
                                                "enforced), or leave the limit out";
    return fail(ErrorCode::kUnsupported,
                "this host cannot enforce the resource limits asked for (" + where + "): " + list + why,
                std::string(!have_cgroup && host.euid != 0
                                ? std::string("as an unprivileged user, run confine in a cgroup delegated to you: ") +
                                      kDelegateFix + " (docs/cgroups.md); or "
                                : "run `confine doctor` to see what this host supports; on this kind of host ") +
                    relax);
  }

  for (const Want& want : wants) {
    report::Protection& protection = *want.protection;
    if (!available(want)) {
      const std::string why = needs(want) + " is not available (" + where + ")";
      if (fallbacks == RlimitFallbacks::kUse && apply_fallback(want, host, why, out)) continue;
      protection.status = "best_effort_skipped";
      protection.detail = want.value_text + " not enforced: " + why;
      if (fallbacks == RlimitFallbacks::kUse && want.fallback == Fallback::kNproc) {
        // Before 5.14 RLIMIT_NPROC counted every process of the host uid, not the sandbox's.
        protection.detail += "; no fallback: RLIMIT_NPROC counts only the sandbox's processes from Linux 5.14 on, "
                             "and this kernel is " +
                             (host.kernel_release.empty() ? std::string("unknown") : host.kernel_release);
      } else if (want.controller == "cpu") {
        protection.detail += "; no fallback: no rlimit caps a CPU share (RLIMIT_CPU caps total CPU seconds; "
                             "use limits.cpu_time for that)";
      }
      out.warnings.push_back(want.key + " = " + want.value_text + " not enforced: " + short_why(want));
      if (want.controller.empty()) out.cpu_time.reset();  // nothing could measure it
      continue;
    }
    protection.status = "enforced";
    protection.detail = want.value_text;
    out.writes.insert(out.writes.end(), want.writes.begin(), want.writes.end());
  }
  return out;
}

}  // namespace confine::plan::steps
