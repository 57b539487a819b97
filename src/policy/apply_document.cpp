// The top level of a policy file and its small sections: [process], [network], [capabilities]
// and [enforcement]. The larger sections have their own files.
#include <algorithm>
#include <array>
#include <string>

#include "reader.h"
#include "values.h"

namespace confine::policy::detail {
namespace {

constexpr std::array<std::string_view, 11> kTopLevel{"version", "extends",  "description", "process",
                                                     "filesystem", "network", "env",      "limits",
                                                     "seccomp", "capabilities", "enforcement"};

// An id inside or outside the sandbox. 4294967295 is (uid_t)-1, which setuid(2) and friends
// read as "leave unchanged", so it can never be a real id.
void apply_id(const toml::table& table, std::string_view name, const std::string& prefix, Reader& r,
              Sourced<uint32_t>& out) {
  const toml::node* node = table.get(name);
  if (node == nullptr) return;
  const std::string key = join_key(prefix, name);
  auto value = r.integer(*node, key);
  if (!value) return;
  if (*value < 0 || *value > int64_t{kMaxId}) {
    r.error(*node, key, "id " + std::to_string(*value) + " is out of range; use 0..4294967294");
    return;
  }
  out = {static_cast<uint32_t>(*value), r.at(*node)};
}

template <class E>
void apply_enum(const toml::table& table, std::string_view name, const std::string& prefix, Reader& r,
                Sourced<E>& out, Expected<E> (*parse)(std::string_view)) {
  const toml::node* node = table.get(name);
  if (node == nullptr) return;
  const std::string key = join_key(prefix, name);
  auto text = r.string(*node, key);
  if (!text) return;
  auto value = parse(*text);
  if (!value) {
    r.error(*node, key, value.error().message);
    return;
  }
  out = {*value, r.at(*node)};
}

void apply_network(const toml::node& node, Reader& r, Policy::Network& network) {
  const toml::table* table = r.table(node, "network");
  if (table == nullptr) return;
  static constexpr std::array<std::string_view, 2> kKeys{"mode", "socket_families"};
  r.check_keys(*table, "network", "[network]", kKeys);
  apply_enum(*table, "mode", "network", r, network.mode, &parse_network_mode);
  if (const toml::node* families_node = table->get("socket_families")) {
    const toml::array* list = r.array(*families_node, "network.socket_families");
    if (list == nullptr) return;
    std::vector<std::string> families;
    bool ok = true;
    for (size_t i = 0; i < list->size(); ++i) {
      const toml::node& element = (*list)[i];
      const std::string key = index_key("network.socket_families", i);
      auto name = r.string(element, key);
      if (!name) {
        ok = false;
        continue;
      }
      if (auto checked = check_socket_family(*name); !checked) {
        r.error(element, key, checked.error().message);
        ok = false;
        continue;
      }
      if (std::find(families.begin(), families.end(), *name) == families.end()) families.push_back(*name);
    }
    // A list replaces the base's: it is the whole set this policy allows.
    if (ok) network.socket_families = {std::move(families), r.at(*families_node)};
  }
}

void apply_enforcement(const toml::node& node, Reader& r, Policy::EnforcementSettings& enforcement) {
  const toml::table* table = r.table(node, "enforcement");
  if (table == nullptr) return;
  static constexpr std::array<std::string_view, 3> kKeys{"resources", "seccomp", "landlock"};
  r.check_keys(*table, "enforcement", "[enforcement]", kKeys);
  apply_enum(*table, "resources", "enforcement", r, enforcement.resources, &parse_enforcement);
  apply_enum(*table, "seccomp", "enforcement", r, enforcement.seccomp, &parse_enforcement);
  apply_enum(*table, "landlock", "enforcement", r, enforcement.landlock, &parse_enforcement);
}

void apply_capabilities(const toml::node& node, Reader& r, Policy::Capabilities& capabilities) {
  const toml::table* table = r.table(node, "capabilities");
  if (table == nullptr) return;
  static constexpr std::array<std::string_view, 1> kKeys{"keep"};
  r.check_keys(*table, "capabilities", "[capabilities]", kKeys);
  const toml::node* keep = table->get("keep");
  if (keep == nullptr) return;
  const toml::array* list = r.array(*keep, "capabilities.keep");
  if (list == nullptr) return;
  for (size_t i = 0; i < list->size(); ++i) {
    const toml::node& element = (*list)[i];
    const std::string key = index_key("capabilities.keep", i);
    auto name = r.string(element, key);
    if (!name) continue;
    auto canonical = canonical_capability(*name);
    if (!canonical) {
      r.error(element, key, canonical.error().message);
      continue;
    }
    capabilities.keep.push_back({*canonical, r.at(element)});
  }
}

}  // namespace

void apply_process(const toml::node& node, Reader& r, Policy::Process& process) {
  const toml::table* table = r.table(node, "process");
  if (table == nullptr) return;
  static constexpr std::array<std::string_view, 6> kKeys{"uid", "gid", "host_uid", "host_gid", "cwd", "hostname"};
  r.check_keys(*table, "process", "[process]", kKeys);
  apply_id(*table, "uid", "process", r, process.uid);
  apply_id(*table, "gid", "process", r, process.gid);
  apply_id(*table, "host_uid", "process", r, process.host_uid);
  apply_id(*table, "host_gid", "process", r, process.host_gid);
  if (const toml::node* cwd = table->get("cwd")) {
    if (auto text = r.string(*cwd, "process.cwd")) {
      auto path = normalize_path(*text);
      if (path) {
        process.cwd = {*path, r.at(*cwd)};
      } else {
        r.error(*cwd, "process.cwd", path.error().message);
      }
    }
  }
  if (const toml::node* hostname = table->get("hostname")) {
    if (auto text = r.string(*hostname, "process.hostname")) {
      auto ok = check_hostname(*text);
      if (ok) {
        process.hostname = {*text, r.at(*hostname)};
      } else {
        r.error(*hostname, "process.hostname", ok.error().message);
      }
    }
  }
}

void apply_document(const toml::table& root, Reader& r, Policy& policy) {
  r.check_keys(root, "", "", kTopLevel);
  if (const toml::node* version = root.get("version")) {
    if (auto v = r.integer(*version, "version"); v && *v != 1) {
      r.error(*version, "version",
              "unsupported policy version " + std::to_string(*v) + "; this confine reads version 1");
    }
  }
  // `extends` is read by the loader, which needs it before any file is applied.
  if (const toml::node* description = root.get("description")) {
    if (auto text = r.string(*description, "description")) policy.description = {*text, r.at(*description)};
  }
  if (const toml::node* n = root.get("process")) apply_process(*n, r, policy.process);
  if (const toml::node* n = root.get("filesystem")) apply_filesystem(*n, r, policy.filesystem);
  if (const toml::node* n = root.get("network")) apply_network(*n, r, policy.network);
  if (const toml::node* n = root.get("env")) apply_env(*n, r, policy.env);
  if (const toml::node* n = root.get("limits")) apply_limits(*n, r, policy.limits);
  if (const toml::node* n = root.get("seccomp")) apply_seccomp(*n, r, policy.seccomp);
  if (const toml::node* n = root.get("capabilities")) apply_capabilities(*n, r, policy.capabilities);
  if (const toml::node* n = root.get("enforcement")) apply_enforcement(*n, r, policy.enforcement);
}

}  // namespace confine::policy::detail
