// Typed access to a parsed TOML document that turns every surprise into a located Diagnostic.
//
// The section appliers (apply_*.cpp) read through a Reader so that wrong types, unknown keys and
// bad values all come out in the same words, at the position of the offending key or value, and
// reading carries on after each problem: one run reports everything.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <toml++/toml.h>

#include "confine/policy.h"

namespace confine::policy::detail {

[[nodiscard]] std::string join_key(std::string_view prefix, std::string_view name);  // "a.b"
[[nodiscard]] std::string index_key(std::string_view prefix, size_t index);         // "a[3]"

// Which dotted key each list element came from, so the checks that run after merging (a path
// both read-only and read-write) can name "filesystem.ro[2]" and not just a position.
class KeyIndex {
 public:
  void remember(const Origin& origin, std::string key);
  [[nodiscard]] std::string find(const Origin& origin, std::string_view fallback) const;

 private:
  std::map<std::tuple<std::string, uint32_t, uint32_t>, std::string> keys_;
};

class Reader {
 public:
  Reader(std::string file, std::vector<Diagnostic>& diagnostics, KeyIndex& keys)
      : file_(std::move(file)), diagnostics_(diagnostics), keys_(keys) {}

  [[nodiscard]] Origin at(const toml::node& node) const;
  [[nodiscard]] Origin at(const toml::key& key) const;
  [[nodiscard]] KeyIndex& keys() { return keys_; }

  void error(const Origin& where, std::string key, std::string message);
  void error(const toml::node& where, std::string key, std::string message) {
    error(at(where), std::move(key), std::move(message));
  }
  // "expected <expected>, got an integer"
  void type_error(const toml::node& node, std::string key, std::string_view expected);

  // Reports each key of `table` that is not in `allowed`, with a did-you-mean when one is close.
  // `section` names the table in messages ("[limits]"); empty at the top level.
  void check_keys(const toml::table& table, std::string_view prefix, std::string_view section,
                  std::span<const std::string_view> allowed);

  // Each returns the value, or reports a type error and returns nothing.
  [[nodiscard]] const toml::table* table(const toml::node& node, const std::string& key);
  [[nodiscard]] const toml::array* array(const toml::node& node, const std::string& key);
  [[nodiscard]] std::optional<std::string> string(const toml::node& node, const std::string& key);
  [[nodiscard]] std::optional<int64_t> integer(const toml::node& node, const std::string& key);
  [[nodiscard]] std::optional<bool> boolean(const toml::node& node, const std::string& key);

 private:
  std::string file_;
  std::vector<Diagnostic>& diagnostics_;
  KeyIndex& keys_;
};

// "a string", "an integer", ... for messages.
[[nodiscard]] const char* type_name(toml::node_type type);

// The section appliers. Each merges one file's table into `policy`: scalars replace (keeping
// their origin), lists append. `node` is the section's value; the key prefix is the section name.
void apply_document(const toml::table& root, Reader& reader, Policy& policy);
void apply_process(const toml::node& node, Reader& reader, Policy::Process& process);
void apply_filesystem(const toml::node& node, Reader& reader, Policy::Filesystem& filesystem);
void apply_env(const toml::node& node, Reader& reader, Policy::Env& env);
void apply_limits(const toml::node& node, Reader& reader, Policy::Limits& limits);
void apply_seccomp(const toml::node& node, Reader& reader, Policy::Seccomp& seccomp);

}  // namespace confine::policy::detail
