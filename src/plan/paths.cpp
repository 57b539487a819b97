#include "paths.h"

#include <algorithm>

namespace confine::plan::paths {

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    if (next > pos) out.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

namespace {

// The component of `path` that starts at or after `pos` (slashes skipped), moving `pos` past
// it; empty at the end. Walks the same components as components(), without a vector: the plan
// compares paths in nested loops over every mount (covering_mount, masking_mount), and
// allocating two vectors per comparison was most of the plan's own time in a batch.
std::string_view next_component(std::string_view path, size_t& pos) {
  while (pos < path.size() && path[pos] == '/') ++pos;
  const size_t start = pos;
  while (pos < path.size() && path[pos] != '/') ++pos;
  return path.substr(start, pos - start);
}

}  // namespace

size_t component_count(std::string_view path) {
  size_t n = 0;
  for (size_t pos = 0; !next_component(path, pos).empty();) ++n;
  return n;
}

bool is_within(std::string_view path, std::string_view ancestor) {
  size_t p = 0, a = 0;
  for (;;) {
    const std::string_view up = next_component(ancestor, a);
    if (up.empty()) return true;  // every component of `ancestor` matched
    if (next_component(path, p) != up) return false;
  }
}

bool component_less(std::string_view a, std::string_view b) {
  size_t pa = 0, pb = 0;
  for (;;) {
    const std::string_view ca = next_component(a, pa);
    const std::string_view cb = next_component(b, pb);
    if (cb.empty()) return false;  // b ended: a is equal or longer
    if (ca.empty()) return true;   // a ended first: a prefix sorts first
    if (ca != cb) return ca < cb;
  }
}

std::vector<std::string_view> components_of_list(std::string_view list) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    const size_t next = list.find(':', pos);
    if (next == std::string_view::npos) {
      out.push_back(list.substr(pos));
      return out;
    }
    out.push_back(list.substr(pos, next - pos));
    pos = next + 1;
  }
}

std::string normalise(std::string_view path, std::string_view base) {
  std::vector<std::string_view> parts;
  if (path.empty() || path.front() != '/') parts = components(base);
  for (std::string_view part : components(path)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  if (parts.empty()) return "/";
  std::string out;
  for (std::string_view part : parts) {
    out += '/';
    out += part;
  }
  return out;
}

}  // namespace confine::plan::paths
