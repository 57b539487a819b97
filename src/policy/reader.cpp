// Reader: typed TOML access with located diagnostics (see reader.h).
#include "reader.h"

#include "values.h"

namespace confine::policy::detail {

namespace {

// A key name as TOML would write it: bare when it can be, quoted otherwise (an empty name, or
// one with dots or spaces), so a key path is never empty and never ambiguous.
std::string key_text(std::string_view name) {
  const bool bare = !name.empty() && name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                           "0123456789_-") == std::string_view::npos;
  if (bare) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string join_key(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return key_text(name);
  std::string out(prefix);
  out += '.';
  out += key_text(name);
  return out;
}

std::string index_key(std::string_view prefix, size_t index) {
  return std::string(prefix) + "[" + std::to_string(index) + "]";
}

void KeyIndex::remember(const Origin& origin, std::string key) {
  keys_[{origin.file, origin.line, origin.column}] = std::move(key);
}

std::string KeyIndex::find(const Origin& origin, std::string_view fallback) const {
  auto it = keys_.find({origin.file, origin.line, origin.column});
  return it == keys_.end() ? std::string(fallback) : it->second;
}

const char* type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "an unknown type";
}

Origin Reader::at(const toml::node& node) const {
  const auto& begin = node.source().begin;
  return Origin{file_, begin.line, begin.column};
}

Origin Reader::at(const toml::key& key) const {
  const auto& begin = key.source().begin;
  return Origin{file_, begin.line, begin.column};
}

void Reader::error(const Origin& where, std::string key, std::string message) {
  diagnostics_.push_back(Diagnostic{where, std::move(key), std::move(message)});
}

void Reader::type_error(const toml::node& node, std::string key, std::string_view expected) {
  error(node, std::move(key), "expected " + std::string(expected) + ", got " + type_name(node.type()));
}

void Reader::check_keys(const toml::table& table, std::string_view prefix, std::string_view section,
                        std::span<const std::string_view> allowed) {
  for (auto&& [key, value] : table) {
    const std::string_view name = key.str();
    bool known = false;
    for (std::string_view a : allowed) known = known || a == name;
    if (known) continue;
    std::string message = std::string(value.is_table() && !value.as_table()->is_inline() ? "unknown table '"
                                                                                          : "unknown key '") +
                          std::string(name) + "'";
    if (!section.empty()) message += " in " + std::string(section);
    const std::string hint = closest(name, allowed);
    if (!hint.empty()) {
      message += "; did you mean '" + hint + "'?";
    } else {
      message += "; valid keys here: " + quoted_list(allowed);
    }
    error(at(key), join_key(prefix, name), std::move(message));
  }
}

const toml::table* Reader::table(const toml::node& node, const std::string& key) {
  if (const auto* t = node.as_table()) return t;
  type_error(node, key, "a table");
  return nullptr;
}

const toml::array* Reader::array(const toml::node& node, const std::string& key) {
  if (const auto* a = node.as_array()) return a;
  type_error(node, key, "an array");
  return nullptr;
}

std::optional<std::string> Reader::string(const toml::node& node, const std::string& key) {
  const auto* s = node.as_string();
  if (s == nullptr) {
    type_error(node, key, "a string");
    return std::nullopt;
  }
  // TOML allows "\u0000"; no policy string may hold one (paths, names and values all end up as
  // C strings, where a NUL would silently cut them short).
  if (s->get().find('\0') != std::string::npos) {
    error(node, key, "string contains a NUL character");
    return std::nullopt;
  }
  return s->get();
}

std::optional<int64_t> Reader::integer(const toml::node& node, const std::string& key) {
  if (const auto* i = node.as_integer()) return i->get();
  type_error(node, key, "an integer");
  return std::nullopt;
}

std::optional<bool> Reader::boolean(const toml::node& node, const std::string& key) {
  if (const auto* b = node.as_boolean()) return b->get();
  type_error(node, key, "a boolean");
  return std::nullopt;
}

}  // namespace confine::policy::detail
