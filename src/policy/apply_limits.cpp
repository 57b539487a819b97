// [limits]: time, memory, process and file limits. Each is a positive amount or "unlimited";
// zero is refused (a zero memory or pids limit is a job that cannot start, almost always a typo),
// except for swap and kill_grace where zero is a meaningful choice.
#include <array>
#include <string>

#include "reader.h"
#include "values.h"

namespace confine::policy::detail {
namespace {

void read_duration(const toml::table& table, std::string_view name, Zero zero, Unlimited unlimited, Reader& r,
                   Sourced<std::optional<Millis>>& out) {
  const toml::node* node = table.get(name);
  if (node == nullptr) return;
  const std::string key = join_key("limits", name);
  const auto* text = node->as_string();
  if (text == nullptr) {
    r.type_error(*node, key, unlimited == Unlimited::kAllowed ? "a duration string like \"30s\" or \"unlimited\""
                                                              : "a duration string like \"2s\"");
    return;
  }
  auto value = duration_limit(text->get(), zero, unlimited);
  if (!value) {
    r.error(*node, key, value.error().message);
    return;
  }
  out = {*value, r.at(*node)};
}

void read_size(const toml::table& table, std::string_view name, Zero zero, Reader& r,
               Sourced<std::optional<uint64_t>>& out) {
  const toml::node* node = table.get(name);
  if (node == nullptr) return;
  const std::string key = join_key("limits", name);
  Expected<std::optional<uint64_t>> value = invalid("");
  if (const auto* text = node->as_string()) {
    value = size_limit(text->get(), zero, Unlimited::kAllowed);
  } else if (const auto* number = node->as_integer()) {
    value = size_limit(number->get(), zero);
  } else {
    r.type_error(*node, key, "a size string like \"512M\", an integer number of bytes, or \"unlimited\"");
    return;
  }
  if (!value) {
    r.error(*node, key, value.error().message);
    return;
  }
  out = {*value, r.at(*node)};
}

void read_count(const toml::table& table, std::string_view name, Reader& r, Sourced<std::optional<uint64_t>>& out) {
  const toml::node* node = table.get(name);
  if (node == nullptr) return;
  const std::string key = join_key("limits", name);
  Expected<std::optional<uint64_t>> value = invalid("");
  if (const auto* number = node->as_integer()) {
    value = count_limit(number->get());
  } else if (const auto* text = node->as_string(); text != nullptr && text->get() == kUnlimited) {
    value = std::optional<uint64_t>{};
  } else {
    r.type_error(*node, key, "a positive integer or \"unlimited\"");
    return;
  }
  if (!value) {
    r.error(*node, key, value.error().message);
    return;
  }
  out = {*value, r.at(*node)};
}

void read_cpus(const toml::table& table, Reader& r, Sourced<std::optional<double>>& out) {
  const toml::node* node = table.get("cpus");
  if (node == nullptr) return;
  Expected<std::optional<double>> value = invalid("");
  if (const auto* number = node->as_integer()) {
    // Beyond 2^53 a double cannot hold the integer, but cpus_limit rejects anything past 1024.
    value = cpus_limit(static_cast<double>(number->get()));
  } else if (const auto* real = node->as_floating_point()) {
    value = cpus_limit(real->get());
  } else if (const auto* text = node->as_string(); text != nullptr && text->get() == kUnlimited) {
    value = std::optional<double>{};
  } else {
    r.type_error(*node, "limits.cpus", "a positive number of CPUs or \"unlimited\"");
    return;
  }
  if (!value) {
    r.error(*node, "limits.cpus", value.error().message);
    return;
  }
  out = {*value, r.at(*node)};
}

// memory_high (throttle and reclaim) above memory (the hard limit, OOM kill) could never take
// effect: the job is killed first. Checked on the effective values after each file, so a child
// file lowering a base's memory below the base's memory_high is caught too, and reported at the
// key this file set (memory_high when it set both).
void check_memory_high(const toml::table& table, Reader& r, const Policy::Limits& limits) {
  const auto& high = limits.memory_high_bytes.value;
  const auto& max = limits.memory_bytes.value;
  if (!high || !max || *high <= *max) return;
  const toml::node* here = table.get("memory_high");
  const bool at_high = here != nullptr;
  if (!at_high) here = table.get("memory");
  if (here == nullptr) return;  // neither set in this file: an earlier file was already checked
  const std::string message =
      "memory_high (" + std::to_string(*high) + " bytes" +
      (at_high ? "" : ", " + limits.memory_high_bytes.origin.str()) + ") must not exceed memory (" +
      std::to_string(*max) + " bytes" + (at_high && !limits.memory_bytes.origin.is_default()
                                              ? ", " + limits.memory_bytes.origin.str()
                                              : std::string()) +
      "): the job would be OOM-killed before memory_high could throttle it";
  r.error(*here, at_high ? "limits.memory_high" : "limits.memory", message);
}

}  // namespace

void apply_limits(const toml::node& node, Reader& r, Policy::Limits& limits) {
  const toml::table* table = r.table(node, "limits");
  if (table == nullptr) return;
  static constexpr std::array<std::string_view, 12> kKeys{"wall_time",   "cpu_time", "kill_grace", "memory",
                                                          "memory_high", "swap",     "file_size",  "output",
                                                          "pids",        "open_files", "cpus",     "core_dumps"};
  r.check_keys(*table, "limits", "[limits]", kKeys);
  read_duration(*table, "wall_time", Zero::kRejected, Unlimited::kAllowed, r, limits.wall_time);
  read_duration(*table, "cpu_time", Zero::kRejected, Unlimited::kAllowed, r, limits.cpu_time);
  Sourced<std::optional<Millis>> grace{limits.kill_grace.value, limits.kill_grace.origin};
  read_duration(*table, "kill_grace", Zero::kAllowed, Unlimited::kRejected, r, grace);
  if (grace.value) limits.kill_grace = {*grace.value, grace.origin};
  read_size(*table, "memory", Zero::kRejected, r, limits.memory_bytes);
  read_size(*table, "memory_high", Zero::kRejected, r, limits.memory_high_bytes);
  check_memory_high(*table, r, limits);
  read_size(*table, "swap", Zero::kAllowed, r, limits.swap_bytes);
  read_size(*table, "file_size", Zero::kRejected, r, limits.file_size_bytes);
  read_size(*table, "output", Zero::kAllowed, r, limits.output_bytes);
  read_count(*table, "pids", r, limits.pids);
  read_count(*table, "open_files", r, limits.open_files);
  read_cpus(*table, r, limits.cpus);
  if (const toml::node* core = table->get("core_dumps")) {
    if (auto value = r.boolean(*core, "limits.core_dumps")) limits.core_dumps = {*value, r.at(*core)};
  }
}

}  // namespace confine::policy::detail
