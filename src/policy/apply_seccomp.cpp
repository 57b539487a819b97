// [seccomp]: the default action, the errno it returns, and [[seccomp.rule]] entries naming
// syscalls and @groups. Names are checked against the seccomp module's tables here, so a typo is
// a located policy error rather than a failure later while compiling the filter.
#include <array>
#include <string>

#include "confine/seccomp.h"
#include "reader.h"
#include "values.h"

namespace confine::policy::detail {
namespace {

// errno = "EPERM" or errno = 13.
std::optional<int> read_errno(const toml::node& node, const std::string& key, Reader& r) {
  Expected<int> value = invalid("");
  if (const auto* text = node.as_string()) {
    value = parse_errno_name(text->get());
  } else if (const auto* number = node.as_integer()) {
    value = check_errno_number(number->get());
  } else {
    r.type_error(node, key, "an errno name like \"EPERM\" or an integer 1..4095");
    return std::nullopt;
  }
  if (!value) {
    r.error(node, key, value.error().message);
    return std::nullopt;
  }
  return *value;
}

std::optional<SeccompAction> read_action(const toml::node& node, const std::string& key, Reader& r) {
  auto text = r.string(node, key);
  if (!text) return std::nullopt;
  auto action = parse_seccomp_action(*text);
  if (!action) {
    r.error(node, key, action.error().message);
    return std::nullopt;
  }
  return *action;
}

bool check_syscall_name(const toml::node& node, const std::string& name, const std::string& key, Reader& r) {
  const bool is_group = !name.empty() && name.front() == '@';
  const bool known = is_group ? seccomp::find_group(std::string_view(name).substr(1)) != nullptr
                              : seccomp::is_known_syscall(name);
  if (known) return true;
  std::string message = std::string(is_group ? "unknown syscall group '" : "unknown syscall '") + name + "'";
  if (const std::string hint = seccomp::suggest(name); !hint.empty()) {
    message += "; did you mean '" + hint + "'?";
  } else if (is_group) {
    message += " (the groups are listed in docs/seccomp.md)";
  }
  r.error(node, key, std::move(message));
  return false;
}

void read_rule(const toml::node& element, const std::string& key, Reader& r, std::vector<SeccompRule>& out) {
  const toml::table* table = element.as_table();
  if (table == nullptr) {
    r.type_error(element, key, "a table (write rules as [[seccomp.rule]])");
    return;
  }
  static constexpr std::array<std::string_view, 4> kKeys{"action", "syscalls", "errno", "log"};
  r.check_keys(*table, key, "[[seccomp.rule]]", kKeys);
  SeccompRule rule;
  rule.origin = r.at(element);
  bool ok = true;
  std::optional<SeccompAction> action;
  if (const toml::node* node = table->get("action")) {
    action = read_action(*node, join_key(key, "action"), r);
    ok = action.has_value();
  } else {
    r.error(element, key, "missing required key 'action' (\"allow\", \"kill\" or \"errno\")");
    ok = false;
  }
  if (const toml::node* node = table->get("errno")) {
    const std::string errno_key = join_key(key, "errno");
    rule.errno_value = read_errno(*node, errno_key, r);
    ok = ok && rule.errno_value.has_value();
    if (action && *action != SeccompAction::kErrno) {
      r.error(*node, errno_key,
              std::string("errno is only valid with action = \"errno\", not \"") + to_string(*action) + "\"");
      ok = false;
    }
  }
  if (const toml::node* node = table->get("log")) {
    const std::string log_key = join_key(key, "log");
    auto log = r.boolean(*node, log_key);
    ok = ok && log.has_value();
    rule.log = log.value_or(false);
    // A kill is always named; an allowed call is nothing to name.
    if (log && *log && action && *action != SeccompAction::kErrno) {
      r.error(*node, log_key,
              std::string("log is only valid with action = \"errno\" (kills are always named), not \"") +
                  to_string(*action) + "\"");
      ok = false;
    }
  }
  if (const toml::node* node = table->get("syscalls")) {
    const std::string list_key = join_key(key, "syscalls");
    if (const toml::array* list = r.array(*node, list_key)) {
      if (list->empty()) {
        r.error(*node, list_key, "a rule must name at least one syscall or @group");
        ok = false;
      }
      for (size_t i = 0; i < list->size(); ++i) {
        const toml::node& name_node = (*list)[i];
        const std::string name_key = index_key(list_key, i);
        auto name = r.string(name_node, name_key);
        if (!name || !check_syscall_name(name_node, *name, name_key, r)) {
          ok = false;
          continue;
        }
        rule.syscalls.push_back(*name);
      }
    } else {
      ok = false;
    }
  } else {
    r.error(element, key, "missing required key 'syscalls' (a list of syscall names and @groups)");
    ok = false;
  }
  if (!ok) return;
  rule.action = *action;
  out.push_back(std::move(rule));
}

}  // namespace

void apply_seccomp(const toml::node& node, Reader& r, Policy::Seccomp& seccomp) {
  const toml::table* table = r.table(node, "seccomp");
  if (table == nullptr) return;
  static constexpr std::array<std::string_view, 4> kKeys{"default_action", "errno", "log", "rule"};
  r.check_keys(*table, "seccomp", "[seccomp]", kKeys);
  if (const toml::node* n = table->get("log")) {
    if (auto value = r.boolean(*n, "seccomp.log")) seccomp.log = {*value, r.at(*n)};
  }
  if (const toml::node* n = table->get("default_action")) {
    if (auto action = read_action(*n, "seccomp.default_action", r)) seccomp.default_action = {*action, r.at(*n)};
  }
  if (const toml::node* n = table->get("errno")) {
    if (auto value = read_errno(*n, "seccomp.errno", r)) seccomp.errno_value = {*value, r.at(*n)};
  }
  if (const toml::node* n = table->get("rule")) {
    if (const toml::array* rules = r.array(*n, "seccomp.rule")) {
      for (size_t i = 0; i < rules->size(); ++i) read_rule((*rules)[i], index_key("seccomp.rule", i), r, seccomp.rules);
    }
  }
}

}  // namespace confine::policy::detail
