// Names: enums, errno values and capabilities, in both directions; Origin and Diagnostic text.
#include <sys/capability.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "confine/policy.h"
#include "confine/seccomp.h"
#include "finalize.h"
#include "values.h"

namespace confine::policy {

bool Origin::is_command_line() const { return file == detail::kCommandLine; }

std::string Origin::str() const {
  if (file.empty()) return "default";
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

namespace {

// Messages quote what the policy said, and a hostile policy could say "\n" or a terminal escape
// in a quoted key; one diagnostic must stay one inert line.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xFU];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string Diagnostic::str() const {
  std::string out = printable(origin.str()) + ": ";
  if (!key.empty()) out += printable(key) + ": ";
  return out + printable(message);
}

const char* to_string(Enforcement e) {
  switch (e) {
    case Enforcement::kRequired: return "required";
    case Enforcement::kBestEffort: return "best-effort";
  }
  return "required";
}

const char* to_string(NetworkMode m) {
  switch (m) {
    case NetworkMode::kNone: return "none";
    case NetworkMode::kHost: return "host";
  }
  return "none";
}

const char* to_string(IsolationMode m) {
  switch (m) {
    case IsolationMode::kNamespaces: return "namespaces";
    case IsolationMode::kLandlock: return "landlock";
    case IsolationMode::kAuto: return "auto";
  }
  return "?";
}

const char* to_string(SeccompAction a) {
  switch (a) {
    case SeccompAction::kAllow: return "allow";
    case SeccompAction::kKill: return "kill";
    case SeccompAction::kErrno: return "errno";
  }
  return "kill";
}

namespace detail {
namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Looks `text` up in a small name table, or explains what is valid (with a did-you-mean).
template <class E, size_t N>
Expected<E> parse_enum(std::string_view text, const std::array<std::pair<std::string_view, E>, N>& table) {
  std::array<std::string_view, N> names{};
  for (size_t i = 0; i < N; ++i) {
    if (table[i].first == text) return table[i].second;
    names[i] = table[i].first;
  }
  std::string message = "unknown value " + quoted(text) + "; expected " + quoted_list(names);
  const std::string hint = closest(text, names);
  if (!hint.empty()) message += "; did you mean '" + hint + "'?";
  return invalid(std::move(message));
}

// Every errno name glibc knows, plus the aliases that share a number with another name (so the
// scan by number cannot find them).
const std::map<std::string, int, std::less<>>& errno_table() {
  static const std::map<std::string, int, std::less<>> table = [] {
    std::map<std::string, int, std::less<>> t;
    for (int value = 1; value <= 4095; ++value) {
      if (const char* name = strerrorname_np(value)) t.emplace(name, value);
    }
    t.emplace("ENOTSUP", ENOTSUP);
    t.emplace("EWOULDBLOCK", EWOULDBLOCK);
    t.emplace("EDEADLOCK", EDEADLOCK);
    return t;
  }();
  return table;
}

struct CapFree {
  void operator()(char* p) const { cap_free(p); }
};

// libcap's name for a capability number, lowercase "cap_xxx", or empty when it has none.
std::string libcap_name(cap_value_t value) {
  std::unique_ptr<char, CapFree> name(cap_to_name(value));
  if (!name) return {};
  std::string out(name.get());
  if (out.rfind("cap_", 0) != 0) return {};  // libcap prints unknown numbers as digits
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Expected<NetworkMode> parse_network_mode(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, NetworkMode>, 2> kTable{
      {{"none", NetworkMode::kNone}, {"host", NetworkMode::kHost}}};
  return parse_enum(text, kTable);
}

Expected<void> check_socket_family(std::string_view name) {
  if (seccomp::socket_family(name)) return {};
  const std::vector<std::string> known = seccomp::socket_family_names();
  const std::vector<std::string_view> views(known.begin(), known.end());
  std::string message = "unknown address family " + quoted(name) + "; expected a name such as 'unix', 'inet', "
                        "'inet6', 'netlink' or 'packet' (the AF_* name in lower case, without AF_)";
  const std::string hint = closest(name, views);
  if (!hint.empty()) message += "; did you mean '" + hint + "'?";
  return invalid(std::move(message));
}

Expected<Enforcement> parse_enforcement(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, Enforcement>, 2> kTable{
      {{"required", Enforcement::kRequired}, {"best-effort", Enforcement::kBestEffort}}};
  return parse_enum(text, kTable);
}

Expected<IsolationMode> parse_isolation_mode(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, IsolationMode>, 3> kTable{
      {{"namespaces", IsolationMode::kNamespaces}, {"landlock", IsolationMode::kLandlock}, {"auto", IsolationMode::kAuto}}};
  return parse_enum(text, kTable);
}

Expected<SeccompAction> parse_seccomp_action(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, SeccompAction>, 3> kTable{
      {{"allow", SeccompAction::kAllow}, {"kill", SeccompAction::kKill}, {"errno", SeccompAction::kErrno}}};
  return parse_enum(text, kTable);
}

Expected<int> parse_errno_name(std::string_view name) {
  // A name glibc gives a value (nearly every policy's, "ENOSYS" in default.toml) is found by
  // asking it, value by value, for the smallest value with that name, which is what the table
  // keeps. Only the aliases and mistakes need the table, whose building (4095 lookups, 130-odd
  // strings in a map) every launch paid for one name.
  for (int value = 1; value <= 4095; ++value) {
    if (const char* known = strerrorname_np(value); known != nullptr && name == known) return value;
  }
  const auto& table = errno_table();
  if (auto it = table.find(name); it != table.end()) return it->second;
  std::vector<std::string_view> names;
  names.reserve(table.size());
  for (const auto& [known, value] : table) names.push_back(known);
  std::string message = "unknown errno name " + quoted(name) + "; use a name from errno(3) such as \"EPERM\" or a number 1..4095";
  const std::string hint = closest(name, names);
  if (!hint.empty()) message += "; did you mean '" + hint + "'?";
  return invalid(std::move(message));
}

Expected<int> check_errno_number(int64_t value) {
  if (value < 1 || value > 4095) {
    return invalid("errno " + std::to_string(value) + " is out of range; use 1..4095 or a name such as \"EPERM\"");
  }
  return static_cast<int>(value);
}

std::string errno_name(int value) {
  if (const char* name = strerrorname_np(value)) return name;
  return std::to_string(value);
}

Expected<std::string> canonical_capability(std::string_view name) {
  std::string lowered = lower(name);
  bool ok = !lowered.empty();
  bool has_letter = false;
  for (char c : lowered) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    has_letter = has_letter || (c >= 'a' && c <= 'z');
  }
  if (ok && has_letter) {  // cap_from_name also takes bare numbers; a policy must say the name
    if (lowered.rfind("cap_", 0) != 0) lowered = "cap_" + lowered;
    cap_value_t value = 0;
    if (cap_from_name(lowered.c_str(), &value) == 0) {
      const std::string known = libcap_name(value);
      if (!known.empty()) return upper(known);
    }
  }
  std::vector<std::string> known;
  for (cap_value_t v = 0; v < 64; ++v) {
    std::string n = libcap_name(v);
    if (!n.empty()) known.push_back(upper(n));
  }
  std::vector<std::string_view> views(known.begin(), known.end());
  std::string wanted = upper(name);
  if (wanted.rfind("CAP_", 0) != 0) wanted = "CAP_" + wanted;
  std::string message = "unknown capability " + quoted(name) + " (see capabilities(7))";
  const std::string hint = closest(wanted, views);
  if (!hint.empty()) message += "; did you mean '" + hint + "'?";
  return invalid(std::move(message));
}

}  // namespace detail
}  // namespace confine::policy
