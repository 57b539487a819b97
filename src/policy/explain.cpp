// explain_text() and explain_json(): every effective value with the place that set it.
//
// One walk over the policy (walk_policy) feeds two renderers, so the text and the JSON can never
// disagree about what is listed. Text values are written the way a policy author would write
// them, with the exact number beside any unit ("512M" (536870912 bytes)); JSON values are the
// exact numbers (sizes in bytes, durations in milliseconds, null for unlimited).
#include <nlohmann/json.hpp>

#include "canonical.h"
#include "confine/policy.h"
#include "values.h"

namespace confine::policy {
namespace {

using nlohmann::json;

std::string quote(const std::string& text) { return detail::dump(json(text), -1); }

class Visitor {
 public:
  virtual ~Visitor() = default;
  // A single value: `section.name = text`.
  virtual void value(std::string_view section, std::string_view name, const std::string& text, json exact,
                     const Origin& origin) = 0;
  // One element of a list, or an entry of a table keyed by name (`item` is "[3]" or ".NAME").
  virtual void element(std::string_view section, std::string_view name, const std::string& item,
                       const std::string& text, json exact, const Origin& origin) = 0;
  // A list or table with no entries, so the reader sees it exists.
  virtual void empty(std::string_view section, std::string_view name, json exact) = 0;
};

std::string size_text(const std::optional<uint64_t>& bytes) {
  if (!bytes) return "unlimited";
  return quote(detail::format_size(*bytes)) + " (" + std::to_string(*bytes) + " bytes)";
}

std::string duration_text(const std::optional<Millis>& value) {
  if (!value) return "unlimited";
  return quote(detail::format_duration(*value)) + " (" + std::to_string(value->count()) + " ms)";
}

template <class T>
json exact_optional(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

std::string bool_text(bool value) { return value ? "true" : "false"; }

void walk_names(Visitor& v, std::string_view section, std::string_view name,
                const std::vector<Sourced<std::string>>& names) {
  if (names.empty()) v.empty(section, name, json::array());
  for (size_t i = 0; i < names.size(); ++i) {
    v.element(section, name, "[" + std::to_string(i) + "]", quote(names[i].value), names[i].value,
              names[i].origin);
  }
}

void walk_paths(Visitor& v, std::string_view name, const std::vector<PathRule>& rules) {
  if (rules.empty()) v.empty("filesystem", name, json::array());
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    v.element("filesystem", name, "[" + std::to_string(i) + "]", quote(r.path) + (r.optional ? " (optional)" : ""),
              detail::path_rule_json(r), r.origin);
  }
}

void walk_policy(const Policy& p, Visitor& v) {
  v.value("", "description", quote(p.description.value), p.description.value, p.description.origin);

  const auto& pr = p.process;
  for (const auto* id : {&pr.uid, &pr.gid, &pr.host_uid, &pr.host_gid}) {
    const char* name = id == &pr.uid ? "uid" : id == &pr.gid ? "gid" : id == &pr.host_uid ? "host_uid" : "host_gid";
    v.value("process", name, std::to_string(id->value), id->value, id->origin);
  }
  v.value("process", "cwd", quote(pr.cwd.value), pr.cwd.value, pr.cwd.origin);
  v.value("process", "hostname", quote(pr.hostname.value), pr.hostname.value, pr.hostname.origin);

  const auto& fs = p.filesystem;
  walk_paths(v, "ro", fs.ro);
  walk_paths(v, "rw", fs.rw);
  walk_paths(v, "deny", fs.deny);
  if (fs.tmpfs.empty()) v.empty("filesystem", "tmpfs", json::array());
  for (size_t i = 0; i < fs.tmpfs.size(); ++i) {
    const auto& t = fs.tmpfs[i];
    v.element("filesystem", "tmpfs", "[" + std::to_string(i) + "]", quote(t.path) + " size " + size_text(t.size_bytes) +
                  (t.inodes ? " inodes " + std::to_string(*t.inodes) : std::string()),
              detail::tmpfs_rule_json(t), t.origin);
  }
  v.value("filesystem", "dev", bool_text(fs.dev.value), fs.dev.value, fs.dev.origin);
  v.value("filesystem", "proc", bool_text(fs.proc.value), fs.proc.value, fs.proc.origin);
  if (const auto& area = fs.output) {
    v.value("filesystem", "output",
            "{ path = " + quote(area->path) + ", host = " + quote(area->host) + ", size = " +
                size_text(area->size_bytes) + ", files = " + std::to_string(area->files) + " }",
            json{{"path", area->path}, {"host", area->host}, {"size", area->size_bytes}, {"files", area->files}},
            area->origin);
  }
  v.value("filesystem", "allow_suid_sgid", bool_text(fs.allow_suid_sgid.value), fs.allow_suid_sgid.value,
          fs.allow_suid_sgid.origin);

  const auto& mode = p.network.mode;
  v.value("network", "mode", quote(to_string(mode.value)), to_string(mode.value), mode.origin);
  const auto& families = p.network.socket_families;
  v.value("network", "socket_families", detail::dump(json(families.value), -1), families.value, families.origin);

  walk_names(v, "env", "keep", p.env.keep);
  if (p.env.set.empty()) v.empty("env", "set", json::object());
  for (const auto& [name, value] : p.env.set) {
    v.element("env", "set", "." + name, quote(value.value), value.value, value.origin);
  }
  walk_names(v, "env", "allow_secrets", p.env.allow_secrets);

  const auto& l = p.limits;
  v.value("limits", "wall_time", duration_text(l.wall_time.value),
          l.wall_time.value ? json(l.wall_time.value->count()) : json(nullptr), l.wall_time.origin);
  v.value("limits", "cpu_time", duration_text(l.cpu_time.value),
          l.cpu_time.value ? json(l.cpu_time.value->count()) : json(nullptr), l.cpu_time.origin);
  v.value("limits", "kill_grace", duration_text(l.kill_grace.value), l.kill_grace.value.count(), l.kill_grace.origin);
  v.value("limits", "memory", size_text(l.memory_bytes.value), exact_optional(l.memory_bytes.value),
          l.memory_bytes.origin);
  v.value("limits", "memory_high", size_text(l.memory_high_bytes.value), exact_optional(l.memory_high_bytes.value),
          l.memory_high_bytes.origin);
  v.value("limits", "swap", size_text(l.swap_bytes.value), exact_optional(l.swap_bytes.value), l.swap_bytes.origin);
  v.value("limits", "file_size", size_text(l.file_size_bytes.value), exact_optional(l.file_size_bytes.value),
          l.file_size_bytes.origin);
  v.value("limits", "output", size_text(l.output_bytes.value), exact_optional(l.output_bytes.value),
          l.output_bytes.origin);
  v.value("limits", "pids", l.pids.value ? std::to_string(*l.pids.value) : "unlimited", exact_optional(l.pids.value),
          l.pids.origin);
  v.value("limits", "open_files", l.open_files.value ? std::to_string(*l.open_files.value) : "unlimited",
          exact_optional(l.open_files.value), l.open_files.origin);
  v.value("limits", "cpus", l.cpus.value ? json(*l.cpus.value).dump() : "unlimited", exact_optional(l.cpus.value),
          l.cpus.origin);
  v.value("limits", "core_dumps", bool_text(l.core_dumps.value), l.core_dumps.value, l.core_dumps.origin);

  const auto& s = p.seccomp;
  v.value("seccomp", "default_action", quote(to_string(s.default_action.value)), to_string(s.default_action.value),
          s.default_action.origin);
  v.value("seccomp", "errno", quote(detail::errno_name(s.errno_value.value)) + " (" +
          std::to_string(s.errno_value.value) + ")", s.errno_value.value, s.errno_value.origin);
  v.value("seccomp", "log", bool_text(s.log.value), s.log.value, s.log.origin);
  if (s.rules.empty()) v.empty("seccomp", "rule", json::array());
  for (size_t i = 0; i < s.rules.size(); ++i) {
    const auto& r = s.rules[i];
    std::string text = "{ action = " + quote(to_string(r.action)) + ", syscalls = " + detail::dump(json(r.syscalls), -1);
    if (r.errno_value) text += ", errno = " + quote(detail::errno_name(*r.errno_value));
    if (r.log) text += ", log = true";
    text += " }";
    v.element("seccomp", "rule", "[" + std::to_string(i) + "]", text, detail::seccomp_rule_json(r), r.origin);
  }

  walk_names(v, "capabilities", "keep", p.capabilities.keep);

  const auto& e = p.enforcement;
  v.value("enforcement", "resources", quote(to_string(e.resources.value)), to_string(e.resources.value),
          e.resources.origin);
  v.value("enforcement", "seccomp", quote(to_string(e.seccomp.value)), to_string(e.seccomp.value), e.seccomp.origin);
  v.value("enforcement", "landlock", quote(to_string(e.landlock.value)), to_string(e.landlock.value),
          e.landlock.origin);
}

std::string dotted(std::string_view section, std::string_view name) {
  return section.empty() ? std::string(name) : std::string(section) + "." + std::string(name);
}

class TextVisitor final : public Visitor {
 public:
  void value(std::string_view section, std::string_view name, const std::string& text, json,
             const Origin& origin) override {
    out += dotted(section, name) + " = " + text + "    # " + origin.str() + "\n";
  }
  void element(std::string_view section, std::string_view name, const std::string& item, const std::string& text,
               json, const Origin& origin) override {
    out += dotted(section, name) + item + " = " + text + "    # " + origin.str() + "\n";
  }
  void empty(std::string_view section, std::string_view name, json exact) override {
    out += dotted(section, name) + " = " + (exact.is_object() ? "{}" : "[]") + "    # default\n";
  }
  std::string out;
};

class JsonVisitor final : public Visitor {
 public:
  void value(std::string_view section, std::string_view name, const std::string&, json exact,
             const Origin& origin) override {
    slot(section)[std::string(name)] = {{"value", std::move(exact)}, {"origin", origin.str()}};
  }
  void element(std::string_view section, std::string_view name, const std::string& item, const std::string&,
               json exact, const Origin& origin) override {
    json entry = {{"value", std::move(exact)}, {"origin", origin.str()}};
    json& container = slot(section)[std::string(name)];
    if (item.front() == '.') {
      container[item.substr(1)] = std::move(entry);
    } else {
      container.push_back(std::move(entry));
    }
  }
  void empty(std::string_view section, std::string_view name, json exact) override {
    slot(section)[std::string(name)] = std::move(exact);
  }
  json out = json::object();

 private:
  json& slot(std::string_view section) { return section.empty() ? out : out[std::string(section)]; }
};

}  // namespace

std::string explain_text(const Policy& policy) {
  TextVisitor visitor;
  visitor.out = "# files, in the order applied:";
  for (const auto& file : policy.files) visitor.out += " " + file;
  visitor.out += "\n";
  walk_policy(policy, visitor);
  return visitor.out;
}

std::string explain_json(const Policy& policy) {
  JsonVisitor visitor;
  visitor.out["files"] = policy.files;
  walk_policy(policy, visitor);
  return detail::dump(visitor.out, 2) + "\n";
}

}  // namespace confine::policy
