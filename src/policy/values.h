// Value checks shared by the file loader and the command line.
//
// Nothing here knows TOML: each function takes the text as written and returns the validated,
// normalised value or an Error whose message is the diagnostic text. Keeping them apart from the
// loader is what makes `--memory 512M` and `memory = "512M"` accept and reject exactly the same
// things.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "confine/error.h"
#include "confine/policy.h"

namespace confine::policy::detail {

enum class Zero { kAllowed, kRejected };
enum class Unlimited { kAllowed, kRejected };

inline constexpr std::string_view kUnlimited = "unlimited";
inline constexpr uint32_t kMaxId = 4294967294U;  // 2^32-1 is (uid_t)-1, "no id", in every API
inline constexpr double kMaxCpus = 1024.0;

[[nodiscard]] unexpected<Error> invalid(std::string message);

// Absolute path, normalised: "//" collapsed, "." removed, no trailing "/". ".." is refused
// rather than resolved, because resolving it lexically can disagree with the filesystem.
[[nodiscard]] Expected<std::string> normalize_path(std::string_view text);
// UTF-8 well-formedness; every string a policy holds must be valid so JSON output is exact.
[[nodiscard]] bool is_valid_utf8(std::string_view text);
// Length of the UTF-8 character starting at text[i], or 0 when the bytes there are not UTF-8.
[[nodiscard]] size_t utf8_char_length(std::string_view text, size_t i);

[[nodiscard]] Expected<void> check_hostname(std::string_view name);
[[nodiscard]] Expected<void> check_env_name(std::string_view name);
[[nodiscard]] Expected<void> check_env_glob(std::string_view pattern);
[[nodiscard]] Expected<void> check_env_value(std::string_view value);

// "EPERM" (or an alias such as "ENOTSUP") to its number; names are case-sensitive like <errno.h>.
[[nodiscard]] Expected<int> parse_errno_name(std::string_view name);
[[nodiscard]] Expected<int> check_errno_number(int64_t value);
// "EPERM" for 1, or the number as text when glibc has no name for it.
[[nodiscard]] std::string errno_name(int value);

// "net_bind_service", "CAP_NET_BIND_SERVICE" (any case) to "CAP_NET_BIND_SERVICE".
[[nodiscard]] Expected<std::string> canonical_capability(std::string_view name);

[[nodiscard]] Expected<NetworkMode> parse_network_mode(std::string_view text);
// An address family name network.socket_families accepts ("unix", "inet6", ...).
[[nodiscard]] Expected<void> check_socket_family(std::string_view name);
[[nodiscard]] Expected<Enforcement> parse_enforcement(std::string_view text);
[[nodiscard]] Expected<SeccompAction> parse_seccomp_action(std::string_view text);

// Limits written as text: sizes, durations, counts and CPU shares, each optionally "unlimited".
[[nodiscard]] Expected<std::optional<uint64_t>> size_limit(std::string_view text, Zero zero,
                                                           Unlimited unlimited);
[[nodiscard]] Expected<std::optional<uint64_t>> size_limit(int64_t bytes, Zero zero);
[[nodiscard]] Expected<std::optional<Millis>> duration_limit(std::string_view text, Zero zero,
                                                             Unlimited unlimited);
[[nodiscard]] Expected<std::optional<uint64_t>> count_limit(std::string_view text);
[[nodiscard]] Expected<std::optional<uint64_t>> count_limit(int64_t value);
[[nodiscard]] Expected<std::optional<double>> cpus_limit(std::string_view text);
[[nodiscard]] Expected<std::optional<double>> cpus_limit(double value);

// Rendering back to the units a policy author writes.
[[nodiscard]] std::string format_size(uint64_t bytes);    // "512M", or plain bytes when not exact
[[nodiscard]] std::string format_duration(Millis value);  // "1m30s", "500ms", "0s"

// Did-you-mean: the candidate closest to `name` within edit distance 2 (adjacent swaps count
// once), or one equal ignoring case; empty when nothing is close.
[[nodiscard]] std::string closest(std::string_view name, std::span<const std::string_view> candidates);
[[nodiscard]] size_t edit_distance(std::string_view a, std::string_view b);
// "'a', 'b' or 'c'", for listing what is valid.
[[nodiscard]] std::string quoted_list(std::span<const std::string_view> items);

}  // namespace confine::policy::detail
