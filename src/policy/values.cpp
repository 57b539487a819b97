// Checks for paths, host and environment names, and limits (see values.h).
#include "values.h"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

namespace confine::policy::detail {
namespace {

bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

unexpected<Error> invalid(std::string message) { return fail(ErrorCode::kInvalidArgument, std::move(message)); }

Expected<std::string> normalize_path(std::string_view text) {
  if (text.empty()) return invalid("empty path; paths must be absolute, e.g. \"/data\"");
  if (text.find('\0') != std::string_view::npos) return invalid("path contains a NUL character");
  if (text.front() != '/') {
    return invalid("path " + quoted(text) + " is relative; paths inside the sandbox must be absolute (start with '/')");
  }
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == '/') ++i;
    const size_t end = std::min(text.find('/', i), text.size());
    const std::string_view part = text.substr(i, end - i);
    i = end;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return invalid("path " + quoted(text) + " contains '..'; write the path it means without '..'");
    }
    out += '/';
    out += part;
  }
  if (out.empty()) out = "/";
  return out;
}

size_t utf8_char_length(std::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  size_t extra = 0;
  uint32_t cp = 0;
  if (c < 0x80) {
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    extra = 1;
    cp = c & 0x1FU;
  } else if (c >= 0xE0 && c <= 0xEF) {
    extra = 2;
    cp = c & 0x0FU;
  } else if (c >= 0xF0 && c <= 0xF4) {
    extra = 3;
    cp = c & 0x07U;
  } else {
    return 0;
  }
  if (i + extra >= text.size()) return 0;
  for (size_t k = 1; k <= extra; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0U) != 0x80U) return 0;
    cp = (cp << 6) | (cc & 0x3FU);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
  if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) ||
      cp > 0x10FFFF) {
    return 0;
  }
  return extra + 1;
}

bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_char_length(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Expected<void> check_hostname(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return invalid("hostname " + quoted(name) + " must be 1 to 64 characters long");
  }
  for (char c : name) {
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.') {
      return invalid("hostname " + quoted(name) + " may contain only letters, digits, '-' and '.'");
    }
  }
  if (name.front() == '-' || name.front() == '.') {
    return invalid("hostname " + quoted(name) + " must not start with '-' or '.'");
  }
  return {};
}

Expected<void> check_env_name(std::string_view name) {
  bool ok = !name.empty() && (is_alpha(name[0]) || name[0] == '_');
  for (char c : name) ok = ok && (is_alpha(c) || is_digit(c) || c == '_');
  if (!ok) {
    return invalid("environment variable name " + quoted(name) +
                   " is invalid; names are letters, digits and '_', not starting with a digit");
  }
  return {};
}

Expected<void> check_env_glob(std::string_view pattern) {
  bool ok = !pattern.empty();
  for (char c : pattern) ok = ok && (is_alpha(c) || is_digit(c) || c == '_' || c == '*' || c == '?');
  if (!ok) {
    return invalid("environment pattern " + quoted(pattern) +
                   " is invalid; use letters, digits, '_' and the wildcards '*' and '?'");
  }
  return {};
}

Expected<void> check_env_value(std::string_view value) {
  // execve passes NUL-terminated strings: a NUL would silently truncate the value.
  if (value.find('\0') != std::string_view::npos) return invalid("value contains a NUL character");
  return {};
}

Expected<std::optional<uint64_t>> size_limit(std::string_view text, Zero zero, Unlimited unlimited) {
  if (text == kUnlimited) {
    if (unlimited == Unlimited::kAllowed) return std::optional<uint64_t>{};
    return invalid("this size cannot be \"unlimited\"");
  }
  auto bytes = parse_size(text);
  if (!bytes) return unexpected<Error>(bytes.error());
  if (*bytes == 0 && zero == Zero::kRejected) {
    return invalid("size must be greater than zero" +
                   std::string(unlimited == Unlimited::kAllowed ? " (write \"unlimited\" for no limit)" : ""));
  }
  return std::optional<uint64_t>{*bytes};
}

Expected<std::optional<uint64_t>> size_limit(int64_t bytes, Zero zero) {
  if (bytes < 0) return invalid("size " + std::to_string(bytes) + " is negative");
  if (bytes == 0 && zero == Zero::kRejected) return invalid("size must be greater than zero");
  return std::optional<uint64_t>{static_cast<uint64_t>(bytes)};
}

Expected<std::optional<Millis>> duration_limit(std::string_view text, Zero zero, Unlimited unlimited) {
  if (text == kUnlimited) {
    if (unlimited == Unlimited::kAllowed) return std::optional<Millis>{};
    return invalid("this duration cannot be \"unlimited\"");
  }
  auto value = parse_duration(text);
  if (!value) return unexpected<Error>(value.error());
  if (value->count() == 0 && zero == Zero::kRejected) {
    return invalid("duration must be greater than zero" +
                   std::string(unlimited == Unlimited::kAllowed ? " (write \"unlimited\" for no limit)" : ""));
  }
  return std::optional<Millis>{*value};
}

Expected<std::optional<uint64_t>> count_limit(int64_t value) {
  if (value <= 0) {
    return invalid("must be a positive integer, got " + std::to_string(value) + " (write \"unlimited\" for no limit)");
  }
  return std::optional<uint64_t>{static_cast<uint64_t>(value)};
}

Expected<std::optional<uint64_t>> count_limit(std::string_view text) {
  if (text == kUnlimited) return std::optional<uint64_t>{};
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return invalid("number " + quoted(text) + " is too large");
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return invalid("expected a positive integer or \"unlimited\", got " + quoted(text));
  }
  return count_limit(value);
}

Expected<std::optional<double>> cpus_limit(double value) {
  if (!std::isfinite(value) || value <= 0.0 || value > kMaxCpus) {
    return invalid("cpus must be a positive number of at most 1024 (write \"unlimited\" for no limit)");
  }
  return std::optional<double>{value};
}

Expected<std::optional<double>> cpus_limit(std::string_view text) {
  if (text == kUnlimited) return std::optional<double>{};
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return invalid("expected a positive number of CPUs or \"unlimited\", got " + quoted(text));
  }
  return cpus_limit(value);
}

}  // namespace confine::policy::detail
