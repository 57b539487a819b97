// [env]: which caller variables pass through (keep), which are set (set), and which
// secret-looking names are deliberately let through (allow_secrets).
#include <array>
#include <string>

#include "reader.h"
#include "values.h"

namespace confine::policy::detail {
namespace {

void read_name_list(const toml::table& table, std::string_view name, Reader& r,
                    Expected<void> (*check)(std::string_view), std::vector<Sourced<std::string>>& out) {
  const toml::node* node = table.get(name);
  if (node == nullptr) return;
  const std::string key = join_key("env", name);
  const toml::array* list = r.array(*node, key);
  if (list == nullptr) return;
  for (size_t i = 0; i < list->size(); ++i) {
    const toml::node& element = (*list)[i];
    const std::string element_key = index_key(key, i);
    auto text = r.string(element, element_key);
    if (!text) continue;
    if (auto ok = check(*text); !ok) {
      r.error(element, element_key, ok.error().message);
      continue;
    }
    out.push_back({*text, r.at(element)});
  }
}

}  // namespace

void apply_env(const toml::node& node, Reader& r, Policy::Env& env) {
  const toml::table* table = r.table(node, "env");
  if (table == nullptr) return;
  static constexpr std::array<std::string_view, 3> kKeys{"keep", "set", "allow_secrets"};
  r.check_keys(*table, "env", "[env]", kKeys);
  read_name_list(*table, "keep", r, &check_env_glob, env.keep);
  read_name_list(*table, "allow_secrets", r, &check_env_name, env.allow_secrets);
  const toml::node* set_node = table->get("set");
  if (set_node == nullptr) return;
  const toml::table* set = r.table(*set_node, "env.set");
  if (set == nullptr) return;
  for (auto&& [name, value] : *set) {
    const std::string key = join_key("env.set", name.str());
    if (auto ok = check_env_name(name.str()); !ok) {
      r.error(r.at(name), key, ok.error().message);
      continue;
    }
    auto text = r.string(value, key);
    if (!text) continue;
    env.set[std::string(name.str())] = {*text, r.at(value)};
  }
}

}  // namespace confine::policy::detail
