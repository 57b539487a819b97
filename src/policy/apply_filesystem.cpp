// [filesystem]: the paths the sandbox sees (ro, rw), masks (deny), private tmpfs mounts, and
// whether it gets a minimal /dev and its own /proc.
#include <array>
#include <string>

#include "reader.h"
#include "values.h"

namespace confine::policy::detail {
namespace {

enum class ListKind { kReadOnly, kReadWrite, kDeny };

std::optional<std::string> read_path(const toml::node& node, const std::string& key, Reader& r) {
  auto text = r.string(node, key);
  if (!text) return std::nullopt;
  auto path = normalize_path(*text);
  if (!path) {
    r.error(node, key, path.error().message);
    return std::nullopt;
  }
  return *path;
}

// One element of ro/rw/deny: "/path" or { path = "/path", optional = true }.
void read_path_rule(const toml::node& element, const std::string& key, ListKind kind, Reader& r,
                    std::vector<PathRule>& out) {
  PathRule rule;
  rule.origin = r.at(element);
  if (element.is_string()) {
    auto path = read_path(element, key, r);
    if (!path) return;
    rule.path = *path;
  } else if (const toml::table* table = element.as_table()) {
    static constexpr std::array<std::string_view, 2> kKeys{"path", "optional"};
    r.check_keys(*table, key, "this path entry", kKeys);
    bool ok = true;
    if (const toml::node* optional = table->get("optional")) {
      auto value = r.boolean(*optional, join_key(key, "optional"));
      ok = value.has_value();
      rule.optional = value.value_or(false);
    }
    const toml::node* path_node = table->get("path");
    if (path_node == nullptr) {
      r.error(element, key, "missing required key 'path'");
      return;
    }
    auto path = read_path(*path_node, join_key(key, "path"), r);
    if (!path || !ok) return;
    rule.path = *path;
  } else {
    r.type_error(element, key, "a path string or a table { path = \"...\", optional = true }");
    return;
  }
  if (kind == ListKind::kReadWrite && rule.path == "/") {
    r.error(element, key, "rw \"/\" would make the whole host writable; list only the directories the job writes");
    return;
  }
  r.keys().remember(rule.origin, key);
  out.push_back(std::move(rule));
}

void read_path_list(const toml::table& table, std::string_view name, ListKind kind, Reader& r,
                    std::vector<PathRule>& out) {
  const toml::node* node = table.get(name);
  if (node == nullptr) return;
  const std::string key = join_key("filesystem", name);
  const toml::array* list = r.array(*node, key);
  if (list == nullptr) return;
  for (size_t i = 0; i < list->size(); ++i) read_path_rule((*list)[i], index_key(key, i), kind, r, out);
}

// One element of tmpfs: { path = "/tmp", size = "64M" }. The size is required: an uncapped tmpfs
// lets the job fill host memory, outside the cgroup's accounting for page cache it does not own.
void read_tmpfs(const toml::node& element, const std::string& key, Reader& r, std::vector<TmpfsRule>& out) {
  const toml::table* table = element.as_table();
  if (table == nullptr) {
    r.type_error(element, key, "a table { path = \"/tmp\", size = \"64M\" }");
    return;
  }
  static constexpr std::array<std::string_view, 3> kKeys{"path", "size", "inodes"};
  r.check_keys(*table, key, "this tmpfs entry", kKeys);
  TmpfsRule rule;
  rule.origin = r.at(element);
  bool ok = true;
  if (const toml::node* path_node = table->get("path")) {
    auto path = read_path(*path_node, join_key(key, "path"), r);
    ok = path.has_value();
    if (path) rule.path = *path;
  } else {
    r.error(element, key, "missing required key 'path'");
    ok = false;
  }
  if (const toml::node* size = table->get("size")) {
    const std::string size_key = join_key(key, "size");
    Expected<std::optional<uint64_t>> bytes = invalid("");
    if (const auto* text = size->as_string()) {
      bytes = size_limit(text->get(), Zero::kRejected, Unlimited::kRejected);
    } else if (const auto* number = size->as_integer()) {
      bytes = size_limit(number->get(), Zero::kRejected);
    } else {
      r.type_error(*size, size_key, "a size string like \"64M\" or an integer number of bytes");
      return;
    }
    if (!bytes) {
      r.error(*size, size_key, bytes.error().message);
      return;
    }
    rule.size_bytes = **bytes;
  } else {
    r.error(element, key, "missing required key 'size' (a tmpfs without a size cap can fill host memory)");
    return;
  }
  if (const toml::node* inodes = table->get("inodes")) {
    const std::string inodes_key = join_key(key, "inodes");
    const auto* number = inodes->as_integer();
    if (number == nullptr) {
      r.type_error(*inodes, inodes_key, "a positive integer (files, directories and links together)");
      return;
    }
    auto count = count_limit(number->get());
    if (!count || !*count) {
      r.error(*inodes, inodes_key, count ? "must be a number, not unlimited" : count.error().message);
      return;
    }
    rule.inodes = **count;
  }
  if (!ok) return;
  r.keys().remember(rule.origin, key);
  out.push_back(std::move(rule));
}

// output = { path = "/out", host = "/srv/results/42", size = "1G", files = 10000 }: every key
// optional; the host directory may come from --output instead.
void read_output(const toml::node& node, Reader& r, std::optional<Policy::Filesystem::Output>& out) {
  constexpr std::string_view key = "filesystem.output";
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    r.type_error(node, std::string(key), "a table { path = \"/out\", size = \"1G\", files = 10000 }");
    return;
  }
  static constexpr std::array<std::string_view, 4> kKeys{"path", "host", "size", "files"};
  r.check_keys(*table, std::string(key), "[filesystem.output]", kKeys);
  Policy::Filesystem::Output area = out.value_or(Policy::Filesystem::Output{});
  area.origin = r.at(node);
  bool ok = true;
  for (const char* name : {"path", "host"}) {
    if (const toml::node* path_node = table->get(name)) {
      auto path = read_path(*path_node, join_key(key, name), r);
      if (!path) {
        ok = false;
      } else if (*path == "/") {
        r.error(*path_node, join_key(key, name), "\"/\" cannot be the output area");
        ok = false;
      } else {
        (std::string_view(name) == "path" ? area.path : area.host) = *path;
      }
    }
  }
  if (const toml::node* size = table->get("size")) {
    Expected<std::optional<uint64_t>> bytes = invalid("");
    if (const auto* text = size->as_string()) {
      bytes = size_limit(text->get(), Zero::kRejected, Unlimited::kRejected);
    } else if (const auto* number = size->as_integer()) {
      bytes = size_limit(number->get(), Zero::kRejected);
    } else {
      r.type_error(*size, join_key(key, "size"), "a size string like \"1G\" or an integer number of bytes");
      return;
    }
    if (!bytes || !*bytes) {
      r.error(*size, join_key(key, "size"), bytes ? "must be a size, not unlimited" : bytes.error().message);
      return;
    }
    area.size_bytes = **bytes;
  }
  if (const toml::node* files = table->get("files")) {
    const auto* number = files->as_integer();
    auto count = number != nullptr ? count_limit(number->get()) : invalid("");
    if (number == nullptr || !count || !*count) {
      r.error(*files, join_key(key, "files"), "a positive integer: the files and directories the area may hold");
      return;
    }
    area.files = **count;
  }
  if (ok) out = std::move(area);
}

void read_bool(const toml::table& table, std::string_view name, Reader& r, Sourced<bool>& out) {
  const toml::node* node = table.get(name);
  if (node == nullptr) return;
  if (auto value = r.boolean(*node, join_key("filesystem", name))) out = {*value, r.at(*node)};
}

}  // namespace

void apply_filesystem(const toml::node& node, Reader& r, Policy::Filesystem& filesystem) {
  const toml::table* table = r.table(node, "filesystem");
  if (table == nullptr) return;
  static constexpr std::array<std::string_view, 8> kKeys{"ro", "rw", "deny", "tmpfs", "dev", "proc",
                                                         "allow_suid_sgid", "output"};
  r.check_keys(*table, "filesystem", "[filesystem]", kKeys);
  read_path_list(*table, "ro", ListKind::kReadOnly, r, filesystem.ro);
  read_path_list(*table, "rw", ListKind::kReadWrite, r, filesystem.rw);
  read_path_list(*table, "deny", ListKind::kDeny, r, filesystem.deny);
  if (const toml::node* tmpfs = table->get("tmpfs")) {
    if (const toml::array* list = r.array(*tmpfs, "filesystem.tmpfs")) {
      for (size_t i = 0; i < list->size(); ++i) {
        read_tmpfs((*list)[i], index_key("filesystem.tmpfs", i), r, filesystem.tmpfs);
      }
    }
  }
  read_bool(*table, "dev", r, filesystem.dev);
  read_bool(*table, "proc", r, filesystem.proc);
  read_bool(*table, "allow_suid_sgid", r, filesystem.allow_suid_sgid);
  if (const toml::node* output = table->get("output")) read_output(*output, r, filesystem.output);
}

}  // namespace confine::policy::detail
