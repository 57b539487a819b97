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

// One limit the policy asked for, and what enforcing it takes.
struct Want {
  std::string key;         // "limits.memory"
  std::string controller;  // "memory"; empty = any cgroup (cpu.stat accounting)
  std::string value_text;  // for messages and the report
  std::vector<CgroupWrite> writes;
  report::Protection* protection;
};

}  // namespace

Expected<Resources> plan_resources(const policy::Policy& policy, const HostFacts& host) {
  const auto& limits = policy.limits;
  Resources out;
  out.cgroup_parent = host.cgroup_parent;
  out.cpu_time = limits.cpu_time.value;
  out.memory_limit = not_requested("memory_limit", "cgroup v2 memory.max");
  out.swap_limit = not_requested("swap_limit", "cgroup v2 memory.swap.max");
  out.pids_limit = not_requested("pids_limit", "cgroup v2 pids.max");
  out.cpu_limit = not_requested("cpu_limit", "cgroup v2 cpu.max");
  out.cpu_time_limit = not_requested("cpu_time", "cgroup v2 cpu.stat usage_usec, polled");

  const bool have_cgroup = !host.cgroup_parent.empty();
  if (have_cgroup) {
    out.cgroup_tracking = {"cgroup_tracking", "enforced", "cgroup v2 leaf (clone3 CLONE_INTO_CGROUP)",
                           host.cgroup_parent};
  } else {
    out.cgroup_tracking = {"cgroup_tracking", "best_effort_skipped", "cgroup v2 leaf",
                           "no usable cgroup v2 directory; the pid namespace is the kill unit"};
    out.warnings.push_back(
        "no usable cgroup v2 directory on this host: the job is not tracked by a cgroup (the pid "
        "namespace is still the kill unit)");
  }

  std::vector<Want> wants;
  if (limits.memory_bytes.value) {
    const std::string bytes = std::to_string(*limits.memory_bytes.value);
    // memory.oom.group: an OOM kill takes the whole job, not one arbitrary process of it.
    wants.push_back({"limits.memory", "memory", size_text(*limits.memory_bytes.value),
                     {{"memory.max", bytes}, {"memory.oom.group", "1"}}, &out.memory_limit});
  }
  // Swap matters only under a memory limit, or when the author wrote it down.
  if (limits.memory_bytes.value || !limits.swap_bytes.origin.is_default()) {
    const auto& swap = limits.swap_bytes.value;
    wants.push_back({"limits.swap", "memory", swap ? size_text(*swap) : "unlimited",
                     {{"memory.swap.max", swap ? std::to_string(*swap) : "max"}}, &out.swap_limit});
  }
  if (limits.pids.value) {
    const std::string n = std::to_string(*limits.pids.value);
    wants.push_back({"limits.pids", "pids", n, {{"pids.max", n}}, &out.pids_limit});
  }
  if (limits.cpus.value) {
    const double quota = std::round(*limits.cpus.value * static_cast<double>(kCpuPeriodUs));
    const uint64_t quota_us = std::max(kMinCpuQuotaUs, static_cast<uint64_t>(std::max(quota, 0.0)));
    const std::string value = std::to_string(quota_us) + " " + std::to_string(kCpuPeriodUs);
    wants.push_back({"limits.cpus", "cpu", value, {{"cpu.max", value}}, &out.cpu_limit});
  }
  if (limits.cpu_time.value) {
    wants.push_back({"limits.cpu_time", "", std::to_string(limits.cpu_time.value->count()) + "ms",
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

  std::vector<const Want*> missing;
  for (const Want& want : wants) {
    if (!available(want)) missing.push_back(&want);
  }
  const bool required = policy.enforcement.resources.value == policy::Enforcement::kRequired;
  if (!missing.empty() && required) {
    std::string list;
    for (const Want* want : missing) {
      if (!list.empty()) list += ", ";
      list += want->key + " = " + want->value_text + " needs " + needs(*want);
    }
    return fail(ErrorCode::kUnsupported,
                "this host cannot enforce the policy's resource limits (" + where + "): " + list +
                    " (enforcement.resources = required at " +
                    policy.enforcement.resources.origin.str() + ")",
                "run `confine doctor` to see what this host supports; on this kind of host mark "
                "resources best-effort (enforcement.resources = \"best-effort\") or pass --best-effort");
  }

  for (const Want& want : wants) {
    report::Protection& protection = *want.protection;
    if (!available(want)) {
      protection.status = "best_effort_skipped";
      protection.detail = want.value_text + " not enforced: " + needs(want) + " is not available (" +
                          where + ")";
      out.warnings.push_back(want.key + " = " + want.value_text + " not enforced: " + needs(want) +
                             " is not available (" + where + "); enforcement.resources is best-effort");
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
