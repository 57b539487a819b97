// Path arithmetic for the planner: pure string functions over absolute, normalised paths.
//
// Mount ordering and visibility are decided by comparing path *components*, never raw strings:
// "/usr" is a parent of "/usr/lib" but not of "/usrx", and must sort before both.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace confine::plan::paths {

// "/usr/lib" -> {"usr", "lib"}; "/" -> {}. Empty components (from "//") are dropped.
[[nodiscard]] std::vector<std::string_view> components(std::string_view path);

// True when `path` is `ancestor` or lies below it, by components.
[[nodiscard]] bool is_within(std::string_view path, std::string_view ancestor);
// components(path).size(), without building the list.
[[nodiscard]] size_t component_count(std::string_view path);

// Orders paths so a parent precedes everything below it: component-wise lexicographic.
[[nodiscard]] bool component_less(std::string_view a, std::string_view b);

// Splits a colon-separated list such as PATH; empty entries are kept (as empty views).
[[nodiscard]] std::vector<std::string_view> components_of_list(std::string_view list);

// Makes `path` absolute against `base` (itself absolute) and resolves "." and ".." lexically.
// ".." at the root stays at the root, as the kernel does.
[[nodiscard]] std::string normalise(std::string_view path, std::string_view base = "/");

}  // namespace confine::plan::paths
