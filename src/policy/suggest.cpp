// "Did you mean": the nearest valid name to a misspelt one.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "confine/policy.h"
#include "values.h"

namespace confine::policy::detail {
namespace {

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// adjacent characters each cost one, since a swap ("mmeory") is the commonest typo of all.
size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1, 0));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string closest(std::string_view name, std::span<const std::string_view> candidates) {
  // Bound the work for absurd inputs: no valid key is anywhere near this long.
  if (name.size() > 256) return {};
  const std::string lower_name = lowered(name);
  std::string best;
  size_t best_distance = 3;  // only suggestions within distance 2
  for (std::string_view candidate : candidates) {
    if (candidate == name) continue;
    const size_t distance = lowered(candidate) == lower_name ? 0 : edit_distance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = std::string(candidate);
    }
  }
  return best;
}

std::string quoted_list(std::span<const std::string_view> items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += "'";
    out += items[i];
    out += "'";
  }
  return out;
}

}  // namespace confine::policy::detail

namespace confine::policy {

std::string closest_name(std::string_view name, const std::vector<std::string_view>& candidates) {
  return detail::closest(name, candidates);
}

}  // namespace confine::policy
