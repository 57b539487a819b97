// canonical_text() and content_hash(): the effective policy as stable JSON, and its SHA-256.
//
// Only effective values go in: no origins and no file names, so moving a setting from one file
// to another, or reformatting, keeps the hash, while any change to what is enforced changes it.
// Keys are sorted (nlohmann::json's default object is a std::map); list order is kept because
// it is meaningful (mounts nest in order, later seccomp rules win).
#include <sha2.h>

#include <nlohmann/json.hpp>

#include "canonical.h"
#include "values.h"

namespace confine::policy {
namespace detail {
namespace {

template <class T>
nlohmann::json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json optional_ms(const std::optional<Millis>& value) {
  return value ? nlohmann::json(value->count()) : nlohmann::json(nullptr);
}

nlohmann::json names(const std::vector<Sourced<std::string>>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : values) out.push_back(v.value);
  return out;
}

}  // namespace

nlohmann::json path_rule_json(const PathRule& rule) { return {{"path", rule.path}, {"optional", rule.optional}}; }

nlohmann::json tmpfs_rule_json(const TmpfsRule& rule) {
  nlohmann::json out = {{"path", rule.path}, {"size", rule.size_bytes}};
  if (rule.inodes) out["inodes"] = *rule.inodes;  // added later: only when set, as below
  return out;
}

nlohmann::json seccomp_rule_json(const SeccompRule& rule) {
  nlohmann::json out = {{"action", to_string(rule.action)},
                        {"syscalls", rule.syscalls},
                        {"errno", rule.errno_value ? nlohmann::json(*rule.errno_value) : nlohmann::json(nullptr)}};
  if (rule.log) out["log"] = true;  // added later: only when set, so older policies keep their hash
  return out;
}

std::string dump(const nlohmann::json& json, int indent) {
  // `replace` never throws; every string is UTF-8 already (files are checked, flags too).
  return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace detail

std::string canonical_text(const Policy& p) {
  using nlohmann::json;
  json fs = json::object();
  for (const char* list : {"ro", "rw", "deny"}) fs[list] = json::array();
  for (const auto& r : p.filesystem.ro) fs["ro"].push_back(detail::path_rule_json(r));
  for (const auto& r : p.filesystem.rw) fs["rw"].push_back(detail::path_rule_json(r));
  for (const auto& r : p.filesystem.deny) fs["deny"].push_back(detail::path_rule_json(r));
  fs["tmpfs"] = json::array();
  for (const auto& r : p.filesystem.tmpfs) fs["tmpfs"].push_back(detail::tmpfs_rule_json(r));
  fs["dev"] = p.filesystem.dev.value;
  fs["proc"] = p.filesystem.proc.value;

  json env_set = json::object();
  for (const auto& [name, value] : p.env.set) env_set[name] = value.value;

  const auto& l = p.limits;
  json rules = json::array();
  for (const auto& r : p.seccomp.rules) rules.push_back(detail::seccomp_rule_json(r));

  json out = {
      {"description", p.description.value},
      {"process",
       {{"uid", p.process.uid.value},
        {"gid", p.process.gid.value},
        {"host_uid", p.process.host_uid.value},
        {"host_gid", p.process.host_gid.value},
        {"cwd", p.process.cwd.value},
        {"hostname", p.process.hostname.value}}},
      {"filesystem", fs},
      {"network", {{"mode", to_string(p.network.mode.value)}}},
      {"env",
       {{"keep", detail::names(p.env.keep)}, {"set", env_set}, {"allow_secrets", detail::names(p.env.allow_secrets)}}},
      {"limits",
       {{"wall_time_ms", detail::optional_ms(l.wall_time.value)},
        {"cpu_time_ms", detail::optional_ms(l.cpu_time.value)},
        {"kill_grace_ms", l.kill_grace.value.count()},
        {"memory_bytes", detail::optional_json(l.memory_bytes.value)},
        {"swap_bytes", detail::optional_json(l.swap_bytes.value)},
        {"file_size_bytes", detail::optional_json(l.file_size_bytes.value)},
        {"pids", detail::optional_json(l.pids.value)},
        {"open_files", detail::optional_json(l.open_files.value)},
        {"cpus", detail::optional_json(l.cpus.value)},
        {"core_dumps", l.core_dumps.value}}},
      {"seccomp",
       {{"default_action", to_string(p.seccomp.default_action.value)},
        {"errno", p.seccomp.errno_value.value},
        {"rule", rules}}},
      {"capabilities", {{"keep", detail::names(p.capabilities.keep)}}},
      {"enforcement",
       {{"resources", to_string(p.enforcement.resources.value)}, {"seccomp", to_string(p.enforcement.seccomp.value)}}},
  };
  // Added after the first release: present only when set, so every policy without it keeps the
  // hash it always had.
  if (l.memory_high_bytes.value) out["limits"]["memory_high_bytes"] = *l.memory_high_bytes.value;
  if (l.output_bytes.value) out["limits"]["output_bytes"] = *l.output_bytes.value;
  if (p.seccomp.log.value) out["seccomp"]["log"] = true;
  if (p.filesystem.allow_suid_sgid.value) out["filesystem"]["allow_suid_sgid"] = true;
  if (const auto& area = p.filesystem.output) {
    out["filesystem"]["output"] = {
        {"path", area->path}, {"host", area->host}, {"size", area->size_bytes}, {"files", area->files}};
  }
  if (!p.network.socket_families.origin.is_default()) {
    out["network"]["socket_families"] = p.network.socket_families.value;
  }
  if (p.isolation.mode.value != IsolationMode::kNamespaces) out["isolation"]["mode"] = to_string(p.isolation.mode.value);
  if (p.enforcement.landlock.value != Enforcement::kBestEffort) {
    out["enforcement"]["landlock"] = to_string(p.enforcement.landlock.value);
  }
  return detail::dump(out, -1);
}

std::string content_hash(const Policy& policy) {
  const std::string text = canonical_text(policy);
  char hex[SHA256_DIGEST_STRING_LENGTH];
  SHA256Data(reinterpret_cast<const uint8_t*>(text.data()), text.size(), hex);
  return std::string(hex);
}

}  // namespace confine::policy
