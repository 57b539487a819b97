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

bool is_within(std::string_view path, std::string_view ancestor) {
  const auto p = components(path);
  const auto a = components(ancestor);
  if (a.size() > p.size()) return false;
  return std::equal(a.begin(), a.end(), p.begin());
}

bool component_less(std::string_view a, std::string_view b) {
  const auto ca = components(a);
  const auto cb = components(b);
  return std::lexicographical_compare(ca.begin(), ca.end(), cb.begin(), cb.end());
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
