// Sizes and durations as policy authors write them, and back.
//
// Both parsers are strict (no whitespace, no signs, no bare numbers for durations) because a
// limit that silently means something else than its author thought is worse than an error.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "confine/policy.h"
#include "values.h"

namespace confine::policy {
namespace {

// A GCC extension; __extension__ keeps -Wpedantic quiet about the one place we need 128 bits.
__extension__ using U128 = unsigned __int128;

constexpr uint64_t kMaxSizeBytes = uint64_t{1} << 63;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

Expected<uint64_t> parse_size(std::string_view text) {
  const std::string shown = quoted(text);
  if (text.empty()) return detail::invalid("empty size; write e.g. \"512M\"");
  size_t i = 0;
  U128 whole = 0;
  while (i < text.size() && is_digit(text[i])) {
    whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    if (whole > kMaxSizeBytes) return detail::invalid("size " + shown + " is too large (at most 2^63 bytes)");
    ++i;
  }
  if (i == 0) {
    if (text[0] == '-') return detail::invalid("size " + shown + " is negative");
    return detail::invalid("size " + shown + " does not start with a number; write e.g. \"512M\"");
  }
  // Decimals: kept exactly (as a numerator over 10^digits) so "1.5G" is exactly 1610612736.
  U128 fraction = 0;
  U128 scale = 1;
  bool has_point = false;
  if (i < text.size() && text[i] == '.') {
    has_point = true;
    ++i;
    const size_t start = i;
    while (i < text.size() && is_digit(text[i])) {
      if (i - start < 18) {  // digits past 10^-18 cannot change a whole number of bytes below 2^63
        fraction = fraction * 10 + static_cast<unsigned>(text[i] - '0');
        scale *= 10;
      }
      ++i;
    }
    if (i == start) return detail::invalid("size " + shown + " has a '.' without digits after it");
  }
  const std::string_view unit = text.substr(i);
  int shift = 0;
  size_t rest = 0;
  if (!unit.empty()) {
    switch (lower(unit[0])) {
      case 'k': shift = 10; rest = 1; break;
      case 'm': shift = 20; rest = 1; break;
      case 'g': shift = 30; rest = 1; break;
      case 't': shift = 40; rest = 1; break;
      case 'b': shift = 0; rest = 0; break;
      default:
        return detail::invalid("size " + shown + " has an unknown unit " + quoted(unit) +
                               "; use K, M, G or T (binary multiples), optionally followed by B or iB");
    }
  }
  std::string suffix(unit.substr(rest));
  for (char& c : suffix) c = lower(c);
  const bool suffix_ok = suffix.empty() || suffix == "b" || (rest == 1 && suffix == "ib");
  if (!suffix_ok) {
    return detail::invalid("size " + shown + " has an unknown unit " + quoted(unit) +
                           "; use K, M, G or T (binary multiples), optionally followed by B or iB");
  }
  if (has_point && shift == 0) {
    return detail::invalid("size " + shown + " is a fraction of a byte; use a unit (\"1.5K\") or whole bytes");
  }
  const U128 multiplier = U128{1} << shift;
  // Fractions of a byte left by decimals are dropped (rounded down), as documented.
  const U128 bytes = whole * multiplier + fraction * multiplier / scale;
  if (bytes > kMaxSizeBytes) return detail::invalid("size " + shown + " is too large (at most 2^63 bytes)");
  return static_cast<uint64_t>(bytes);
}

Expected<Millis> parse_duration(std::string_view text) {
  const std::string shown = quoted(text);
  if (text.empty()) return detail::invalid("empty duration; write e.g. \"30s\"");
  if (text[0] == '-') return detail::invalid("duration " + shown + " is negative");
  int64_t total_ms = 0;
  bool seen[4] = {false, false, false, false};
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    int64_t number = 0;
    while (i < text.size() && is_digit(text[i])) {
      if (__builtin_mul_overflow(number, int64_t{10}, &number) ||
          __builtin_add_overflow(number, int64_t{text[i] - '0'}, &number)) {
        return detail::invalid("duration " + shown + " is too large");
      }
      ++i;
    }
    if (i == start) {
      if (text[i] == '.') break;  // reported below with a hint
      return detail::invalid("duration " + shown + " must be number+unit pairs such as \"1m30s\"");
    }
    if (i < text.size() && text[i] == '.') {
      return detail::invalid("duration " + shown +
                             " has a decimal; use a smaller unit instead (\"1500ms\", not \"1.5s\")");
    }
    const size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])) != 0) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    int64_t per_unit_ms = 0;
    int slot = 0;
    if (unit == "ms") {
      per_unit_ms = 1;
      slot = 0;
    } else if (unit == "s") {
      per_unit_ms = 1000;
      slot = 1;
    } else if (unit == "m") {
      per_unit_ms = 60 * 1000;
      slot = 2;
    } else if (unit == "h") {
      per_unit_ms = 60 * 60 * 1000;
      slot = 3;
    } else if (unit.empty()) {
      return detail::invalid("duration " + shown + " is missing a unit; write e.g. \"" +
                             std::string(text.substr(start, i - start)) + "s\" (units: ms, s, m, h)");
    } else {
      return detail::invalid("duration " + shown + " has an unknown unit " + quoted(unit) +
                             "; use ms, s, m or h");
    }
    if (seen[slot]) return detail::invalid("duration " + shown + " gives the unit " + quoted(unit) + " twice");
    seen[slot] = true;
    int64_t part = 0;
    if (__builtin_mul_overflow(number, per_unit_ms, &part) || __builtin_add_overflow(total_ms, part, &total_ms)) {
      return detail::invalid("duration " + shown + " is too large");
    }
  }
  if (i < text.size()) {
    return detail::invalid("duration " + shown +
                           " has a decimal; use a smaller unit instead (\"1500ms\", not \"1.5s\")");
  }
  return Millis{total_ms};
}

namespace detail {

std::string format_size(uint64_t bytes) {
  static constexpr std::array<std::pair<int, char>, 4> kUnits{{{40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}}};
  if (bytes == 0) return "0";
  for (const auto& [shift, letter] : kUnits) {
    const uint64_t unit = uint64_t{1} << shift;
    if (bytes % unit == 0) return std::to_string(bytes / unit) + letter;
  }
  return std::to_string(bytes);
}

std::string format_duration(Millis value) {
  int64_t ms = value.count();
  if (ms == 0) return "0s";
  std::string out;
  const int64_t hours = ms / 3'600'000;
  ms %= 3'600'000;
  const int64_t minutes = ms / 60'000;
  ms %= 60'000;
  const int64_t seconds = ms / 1000;
  ms %= 1000;
  if (hours != 0) out += std::to_string(hours) + "h";
  if (minutes != 0) out += std::to_string(minutes) + "m";
  if (seconds != 0) out += std::to_string(seconds) + "s";
  if (ms != 0) out += std::to_string(ms) + "ms";
  return out;
}

}  // namespace detail
}  // namespace confine::policy

namespace confine::policy {

uint64_t tmpfs_inodes(const TmpfsRule& rule) {
  if (rule.inodes) return *rule.inodes;
  return std::max(kMinTmpfsInodes, rule.size_bytes / 4096);
}

}  // namespace confine::policy
