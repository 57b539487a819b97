// The report as JSON. The layout, field by field, is documented in docs/report.md and pinned by
// docs/report.schema.json; tests/report_schema_test.cpp validates this writer's output against it.
//
// Two rules shape the code:
//  - Key order is fixed (ordered_json keeps insertion order), so reports diff cleanly and golden
//    files stay stable.
//  - A fact that was not measured is written as null, never omitted and never 0, so a consumer
//    can tell "measured zero" from "unknown" with one check.
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "confine/report.h"

namespace confine::report {
namespace {

using Json = nlohmann::ordered_json;

// Empty strings in the C++ structs mean "not applicable"; the document says so with null.
Json string_or_null(const std::string& value) {
  return value.empty() ? Json(nullptr) : Json(value);
}

template <class T>
Json optional_or_null(const std::optional<T>& value) {
  return value.has_value() ? Json(*value) : Json(nullptr);
}

// "ENOENT" for 2. null for 0 (no syscall involved) and for numbers this libc has no name for:
// the number is reported beside it, so nothing is lost.
Json errno_name_or_null(int err) {
  if (err == 0) {
    return nullptr;
  }
  const char* name = strerrorname_np(err);
  return name == nullptr ? Json(nullptr) : Json(name);
}

Json errno_or_null(int err) { return err == 0 ? Json(nullptr) : Json(err); }

Json target_json(const Report& report) {
  Json target = Json::object();
  target["exit_code"] = optional_or_null(report.target_exit_code);
  target["signal"] = optional_or_null(report.signal);
  target["signal_name"] =
      report.signal.has_value() ? Json(signal_name(*report.signal)) : Json(nullptr);
  target["core_dumped"] = report.core_dumped;
  return target;
}

Json times_json(const Report& report) {
  Json times = Json::object();
  times["wall_us"] = report.wall_time_us;
  times["cpu_user_us"] = report.cpu_user_us;
  times["cpu_system_us"] = report.cpu_system_us;
  return times;
}

Json resources_json(const Report& report) {
  Json counters = Json::object();
  counters["oom_kills"] = report.counters.oom_kills;
  counters["oom_group_kills"] = report.counters.oom_group_kills;
  counters["pids_max_hits"] = report.counters.pids_max_hits;
  counters["cpu_throttled_us"] = report.counters.cpu_throttled_us;

  Json resources = Json::object();
  resources["memory_peak_bytes"] = optional_or_null(report.memory_peak_bytes);
  resources["pids_peak"] = optional_or_null(report.pids_peak);
  resources["counters"] = std::move(counters);
  return resources;
}

Json enforced_json(const std::vector<Protection>& protections) {
  Json list = Json::array();
  for (const Protection& protection : protections) {
    Json item = Json::object();
    item["name"] = protection.name;
    item["status"] = protection.status;
    item["mechanism"] = protection.mechanism;
    item["detail"] = protection.detail;
    list.push_back(std::move(item));
  }
  return list;
}

Json policy_json(const Report& report) {
  Json policy = Json::object();
  policy["path"] = string_or_null(report.policy_path);
  policy["sha256"] = string_or_null(report.policy_sha256);
  return policy;
}

Json setup_error_json(const std::optional<SetupFailure>& failure) {
  if (!failure.has_value()) {
    return nullptr;
  }
  Json item = Json::object();
  item["step"] = failure->step;
  item["path"] = string_or_null(failure->path);
  item["errno"] = errno_or_null(failure->sys_errno);
  item["errno_name"] = errno_name_or_null(failure->sys_errno);
  item["message"] = failure->message;
  return item;
}

Json exec_error_json(const std::optional<ExecFailure>& failure) {
  if (!failure.has_value()) {
    return nullptr;
  }
  Json item = Json::object();
  item["path"] = failure->path;
  item["errno"] = errno_or_null(failure->sys_errno);
  item["errno_name"] = errno_name_or_null(failure->sys_errno);
  item["message"] = failure->message;
  return item;
}

Json seccomp_violation_json(const std::optional<SeccompViolation>& violation) {
  if (!violation.has_value()) {
    return nullptr;
  }
  Json item = Json::object();
  item["syscall"] = string_or_null(violation->syscall);
  item["nr"] = violation->nr < 0 ? Json(nullptr) : Json(violation->nr);  // -1 means unknown
  item["arch"] = string_or_null(violation->arch);
  return item;
}

Json output_json(const std::optional<OutputStats>& output) {
  if (!output.has_value()) {
    return nullptr;
  }
  Json item = Json::object();
  item["stdout_bytes"] = output->stdout_bytes;
  item["stderr_bytes"] = output->stderr_bytes;
  item["dropped_bytes"] = output->dropped_bytes;
  item["limit_bytes"] = optional_or_null(output->limit_bytes);
  return item;
}

Json output_area_json(const std::optional<OutputAreaReport>& area) {
  if (!area.has_value()) {
    return nullptr;
  }
  Json item = Json::object();
  item["path"] = area->path;
  item["host"] = area->host;
  item["files_copied"] = area->files_copied;
  item["bytes_copied"] = area->bytes_copied;
  Json copied = Json::array();
  for (const auto& c : area->copied) copied.push_back(Json{{"name", c.name}, {"bytes", c.bytes}});
  Json refused = Json::array();
  for (const auto& r : area->refused) refused.push_back(Json{{"name", r.name}, {"reason", r.reason}});
  item["copied"] = std::move(copied);
  item["refused"] = std::move(refused);
  item["unlisted"] = area->unlisted;
  return item;
}

Json denial_json(const Denial& d) {
  Json item = Json::object();
  item["syscall"] = d.syscall;
  item["nr"] = d.nr < 0 ? Json(nullptr) : Json(d.nr);
  item["arch"] = string_or_null(d.arch);
  item["action"] = d.action;
  item["errno"] = errno_or_null(d.errno_value);
  item["errno_name"] = errno_name_or_null(d.errno_value);
  item["count"] = d.count;
  item["first_pid"] = d.first_pid;
  return item;
}

Json denials_json(const std::vector<Denial>& denials) {
  Json list = Json::array();
  for (const Denial& d : denials) list.push_back(denial_json(d));
  return list;
}

Json audit_json(const std::optional<Audit>& audit) {
  if (!audit.has_value()) {
    return nullptr;
  }
  Json paths = Json::array();
  for (const AuditPath& p : audit->paths) {
    paths.push_back(Json{{"path", p.path}, {"operation", p.operation}, {"count", p.count}, {"first_pid", p.first_pid}});
  }
  Json item = Json::object();
  item["enforcing"] = false;
  item["syscalls"] = denials_json(audit->syscalls);
  item["paths"] = std::move(paths);
  return item;
}

Json phases_json(const std::vector<Phase>& phases) {
  Json list = Json::array();
  for (const Phase& phase : phases) {
    Json item = Json::object();
    item["name"] = phase.name;
    item["duration_us"] = phase.duration_us;
    list.push_back(std::move(item));
  }
  return list;
}

// argv, paths and messages are bytes, not necessarily UTF-8, and JSON text must be UTF-8.
// The default handler throws on invalid UTF-8, which would lose the whole report at the
// moment it matters; replacing invalid bytes with U+FFFD keeps it (docs/report.md says so).
std::string dump(const Json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

// The "enforced" list as compact text, kept for the next report with the same list: a batch's
// jobs under one plan all have it, and building and dumping its 30 entries was about 40 us of
// the 105 us a report took. One entry, compared in full.
const std::string& enforced_text(const std::vector<Protection>& protections) {
  static std::vector<Protection> last;
  static std::string text;
  if (text.empty() || protections != last) {
    text = dump(enforced_json(protections), -1);
    last = protections;
  }
  return text;
}

}  // namespace

std::string to_json_text(const Report& report, bool pretty) {
  // Every member in the document's order (docs/report.md); "enforced" is filled in below.
  const std::pair<const char*, Json> members[] = {
      {"report_version", report.report_version},
      {"confine_version", report.confine_version},
      {"outcome", to_string(report.outcome)},
      {"exit_code", report.exit_code},
      {"target", target_json(report)},
      {"times", times_json(report)},
      {"resources", resources_json(report)},
      {"limits_hit", report.limits_hit},
      {"output", output_json(report.output)},
      {"output_area", output_area_json(report.output_area)},
      {"cancelled", optional_or_null(report.cancelled)},
      {"enforced", nullptr},
      {"command", report.command},
      {"policy", policy_json(report)},
      {"setup_error", setup_error_json(report.setup_error)},
      {"exec_error", exec_error_json(report.exec_error)},
      {"seccomp_violation", seccomp_violation_json(report.seccomp_violation)},
      {"denials", denials_json(report.denials)},
      {"audit", audit_json(report.audit)},
      {"phases", phases_json(report.phases)},
      {"warnings", report.warnings},
  };
  if (pretty) {
    constexpr int kPrettyIndent = 2;
    Json doc = Json::object();
    for (const auto& [key, value] : members) doc[key] = value;
    doc["enforced"] = enforced_json(report.enforced);
    return dump(doc, kPrettyIndent);
  }
  // Compact: the object written member by member (the keys are fixed ASCII names, nothing to
  // escape), so the cached "enforced" text goes in as it is.
  std::string out = "{";
  for (const auto& [key, value] : members) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += key;
    out += "\":";
    out += std::string_view(key) == "enforced" ? enforced_text(report.enforced) : dump(value, -1);
  }
  out += '}';
  return out;
}

}  // namespace confine::report
