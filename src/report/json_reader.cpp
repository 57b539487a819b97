// from_json_text(): a report file back into a Report, for `confine report FILE`.
//
// Lenient where the contract lets consumers be (unknown keys are ignored, keys added within
// version 1 may be missing from older reports), strict where a wrong guess would mislead: the
// document must be a JSON object with report_version 1 and a known outcome.
#include <nlohmann/json.hpp>

#include "confine/report.h"

namespace confine::report {
namespace {

using Json = nlohmann::json;

std::string text_at(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

template <class T>
std::optional<T> number_at(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<T>();
}

template <class T>
T number_or(const Json& j, const char* key, T fallback) {
  return number_at<T>(j, key).value_or(fallback);
}

std::vector<std::string> strings_at(const Json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return out;
  for (const auto& item : j[key]) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

const Json& object_at(const Json& j, const char* key) {
  static const Json kNull;
  return j.is_object() && j.contains(key) && j[key].is_object() ? j[key] : kNull;
}

std::optional<Outcome> outcome_named(const std::string& name) {
  for (Outcome o : {Outcome::kOk, Outcome::kExitNonzero, Outcome::kSignaled, Outcome::kOom, Outcome::kWallTimeout,
                    Outcome::kCpuTimeout, Outcome::kSeccompViolation, Outcome::kFileSizeLimit, Outcome::kOutputLimit,
                    Outcome::kSetupError, Outcome::kExecError}) {
    if (name == to_string(o)) return o;
  }
  return std::nullopt;
}

}  // namespace

Expected<Report> from_json_text(std::string_view text) {
  // No exceptions out of here: a file that is not JSON is an answer, not a crash.
  const Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "not a JSON object (a confine report is one JSON document)");
  }
  if (number_or<int>(doc, "report_version", 0) != kReportVersion) {
    return fail(ErrorCode::kInvalidArgument,
                "not a confine report of report_version 1 (docs/report.md)",
                "a newer confine wrote it? `confine report` reads the version this confine writes");
  }
  const auto outcome = outcome_named(text_at(doc, "outcome"));
  if (!outcome) return fail(ErrorCode::kInvalidArgument, "unknown outcome '" + text_at(doc, "outcome") + "'");

  Report r;
  r.confine_version = text_at(doc, "confine_version");
  r.outcome = *outcome;
  r.exit_code = number_or<int>(doc, "exit_code", kExitConfineFailed);
  const Json& target = object_at(doc, "target");
  r.target_exit_code = number_at<int>(target, "exit_code");
  r.signal = number_at<int>(target, "signal");
  r.core_dumped = target.is_object() && target.contains("core_dumped") && target["core_dumped"].is_boolean() &&
                  target["core_dumped"].get<bool>();
  const Json& times = object_at(doc, "times");
  r.wall_time_us = number_or<uint64_t>(times, "wall_us", 0);
  r.cpu_user_us = number_or<uint64_t>(times, "cpu_user_us", 0);
  r.cpu_system_us = number_or<uint64_t>(times, "cpu_system_us", 0);
  const Json& resources = object_at(doc, "resources");
  r.memory_peak_bytes = number_at<uint64_t>(resources, "memory_peak_bytes");
  r.pids_peak = number_at<uint64_t>(resources, "pids_peak");
  const Json& counters = object_at(resources, "counters");
  r.counters.oom_kills = number_or<uint64_t>(counters, "oom_kills", 0);
  r.counters.oom_group_kills = number_or<uint64_t>(counters, "oom_group_kills", 0);
  r.counters.pids_max_hits = number_or<uint64_t>(counters, "pids_max_hits", 0);
  r.counters.cpu_throttled_us = number_or<uint64_t>(counters, "cpu_throttled_us", 0);
  r.limits_hit = strings_at(doc, "limits_hit");
  if (const Json& output = object_at(doc, "output"); output.is_object()) {
    r.output = OutputStats{number_or<uint64_t>(output, "stdout_bytes", 0), number_or<uint64_t>(output, "stderr_bytes", 0),
                           number_or<uint64_t>(output, "dropped_bytes", 0), number_at<uint64_t>(output, "limit_bytes")};
  }
  if (const Json& area = object_at(doc, "output_area"); area.is_object()) {
    OutputAreaReport a;
    a.path = text_at(area, "path");
    a.host = text_at(area, "host");
    a.files_copied = number_or<uint64_t>(area, "files_copied", 0);
    a.bytes_copied = number_or<uint64_t>(area, "bytes_copied", 0);
    if (area.contains("copied") && area["copied"].is_array()) {
      for (const auto& c : area["copied"]) a.copied.push_back({text_at(c, "name"), number_or<uint64_t>(c, "bytes", 0)});
    }
    if (area.contains("refused") && area["refused"].is_array()) {
      for (const auto& f : area["refused"]) a.refused.push_back({text_at(f, "name"), text_at(f, "reason")});
    }
    a.unlisted = number_or<uint64_t>(area, "unlisted", 0);
    r.output_area = std::move(a);
  }
  if (doc.contains("cancelled") && doc["cancelled"].is_string()) r.cancelled = doc["cancelled"].get<std::string>();
  if (doc.contains("enforced") && doc["enforced"].is_array()) {
    for (const auto& p : doc["enforced"]) {
      r.enforced.push_back({text_at(p, "name"), text_at(p, "status"), text_at(p, "mechanism"), text_at(p, "detail")});
    }
  }
  r.command = strings_at(doc, "command");
  const Json& policy = object_at(doc, "policy");
  r.policy_path = text_at(policy, "path");
  r.policy_sha256 = text_at(policy, "sha256");
  if (const Json& e = object_at(doc, "setup_error"); e.is_object()) {
    r.setup_error = SetupFailure{text_at(e, "step"), text_at(e, "path"), number_or<int>(e, "errno", 0), text_at(e, "message")};
  }
  if (const Json& e = object_at(doc, "exec_error"); e.is_object()) {
    r.exec_error = ExecFailure{text_at(e, "path"), number_or<int>(e, "errno", 0), text_at(e, "message")};
  }
  if (const Json& v = object_at(doc, "seccomp_violation"); v.is_object()) {
    r.seccomp_violation = SeccompViolation{text_at(v, "syscall"), number_or<int>(v, "nr", -1), text_at(v, "arch")};
  }
  if (doc.contains("phases") && doc["phases"].is_array()) {
    for (const auto& p : doc["phases"]) r.phases.push_back({text_at(p, "name"), number_or<uint64_t>(p, "duration_us", 0)});
  }
  r.warnings = strings_at(doc, "warnings");
  return r;
}

}  // namespace confine::report
