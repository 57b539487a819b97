// Syscall names and numbers, answered by libseccomp's tables so they match what compile() emits.
#include "names.h"

#include <seccomp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "confine/seccomp.h"

namespace confine::seccomp {

namespace {

// Native x86_64 numbers stop near 460 today; the margin covers kernels newer than this table
// without scanning the x32 range (which starts at 0x40000000).
constexpr int kMaxNativeSyscallNumber = 1024;

struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }
};

// Edit distance counting an adjacent transposition as one edit (optimal string alignment), so
// "gtepid" is one step from "getpid". Names are short, so the full table is cheap.
size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t width = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * width);
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * width + j]; };
  for (size_t i = 0; i <= a.size(); ++i) at(i, 0) = i;
  for (size_t j = 0; j <= b.size(); ++j) at(0, j) = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(a.size(), b.size());
}

}  // namespace

const std::vector<std::string>& native_syscall_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (int nr = 0; nr < kMaxNativeSyscallNumber; ++nr) {
      std::unique_ptr<char, FreeDeleter> name(
          seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr));
      if (name) names.emplace_back(name.get());
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }();
  return kNames;
}

namespace {

// Linux's address families (include/linux/socket.h), by the names network.socket_families takes.
constexpr std::pair<std::string_view, int> kFamilies[] = {
    {"unix", 1},        {"inet", 2},     {"ax25", 3},      {"ipx", 4},       {"appletalk", 5}, {"netrom", 6},
    {"bridge", 7},      {"atmpvc", 8},   {"x25", 9},       {"inet6", 10},    {"rose", 11},     {"decnet", 12},
    {"netbeui", 13},    {"security", 14}, {"key", 15},     {"netlink", 16},  {"packet", 17},   {"ash", 18},
    {"econet", 19},     {"atmsvc", 20},  {"rds", 21},      {"sna", 22},      {"irda", 23},     {"pppox", 24},
    {"wanpipe", 25},    {"llc", 26},     {"ib", 27},       {"mpls", 28},     {"can", 29},      {"tipc", 30},
    {"bluetooth", 31},  {"iucv", 32},    {"rxrpc", 33},    {"isdn", 34},     {"phonet", 35},   {"ieee802154", 36},
    {"caif", 37},       {"alg", 38},     {"nfc", 39},      {"vsock", 40},    {"kcm", 41},      {"qipcrtr", 42},
    {"smc", 43},        {"xdp", 44},     {"mctp", 45},
};

}  // namespace

std::optional<int> socket_family(std::string_view name) {
  for (const auto& [n, family] : kFamilies) {
    if (n == name) return family;
  }
  return std::nullopt;
}

std::string socket_family_name(int family) {
  for (const auto& [n, f] : kFamilies) {
    if (f == family) return std::string(n);
  }
  return std::to_string(family);
}

std::vector<std::string> socket_family_names() {
  std::vector<std::string> out;
  for (const auto& entry : kFamilies) out.emplace_back(entry.first);
  return out;
}

std::string errno_name(int errno_value) {
  if (const char* name = strerrorname_np(errno_value); name != nullptr) return name;
  return std::to_string(errno_value);
}

bool is_known_syscall(std::string_view name) {
  if (name.empty() || name.starts_with('@')) return false;
  // libseccomp's table is shared by every architecture it supports: a name known anywhere
  // resolves on the native one too, to a negative pseudo number (__PNR_*) when it has no
  // native number. Only a name that exists nowhere gives __NR_SCMP_ERROR.
  return seccomp_syscall_resolve_name(std::string(name).c_str()) != __NR_SCMP_ERROR;
}

std::optional<int> syscall_number(std::string_view name) {
  if (name.empty() || name.starts_with('@')) return std::nullopt;
  int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
  if (nr < 0) return std::nullopt;  // __NR_SCMP_ERROR or a pseudo number
  return nr;
}

std::string syscall_name(int nr) {
  if (nr >= 0) {
    std::unique_ptr<char, FreeDeleter> name(seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr));
    if (name) return name.get();
  }
  return "syscall_" + std::to_string(nr);
}

std::string suggest(std::string_view name) {
  if (name.empty()) return {};
  // Candidates: every group as "@name", every native syscall, and every plain group member
  // (which adds the names that exist only on other architectures).
  std::vector<std::string> candidates = native_syscall_names();
  for (const Group& group : groups()) {
    candidates.push_back("@" + std::string(group.name));
    for (std::string_view member : group.members) {
      if (!member.starts_with('@')) candidates.emplace_back(member);
    }
  }
  std::sort(candidates.begin(), candidates.end());  // ties resolve the same way every time
  // Close means at most two edits, and fewer than half the name: "gtpid" is not a typo of "time".
  size_t limit = std::min<size_t>(2, (name.size() - 1) / 2);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    if (candidate == name) continue;
    size_t d = edit_distance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace confine::seccomp
