// Per-process limits (rlimits) and the capability mask, computed in the parent so the child only
// calls setrlimit/capset with ready numbers (libcap allocates, so it is banned after clone).
#include <sys/capability.h>
#include <sys/resource.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <string>

#include "confine/plan.h"
#include "steps.h"

namespace confine::plan::steps {
namespace {

Rlimit fixed(int resource, const char* name, uint64_t value) {
  return Rlimit{resource, value, value, name};
}

}  // namespace

std::vector<Rlimit> plan_rlimits(const policy::Policy& policy) {
  const auto& limits = policy.limits;
  std::vector<Rlimit> out;
  // Always set: a core file written by the target could leak whatever it had in memory into a
  // writable bind, and could be large.
  out.push_back(fixed(RLIMIT_CORE, "RLIMIT_CORE", limits.core_dumps.value ? RLIM_INFINITY : 0));
  if (limits.open_files.value) {
    out.push_back(fixed(RLIMIT_NOFILE, "RLIMIT_NOFILE", *limits.open_files.value));
  }
  if (limits.file_size_bytes.value) {
    // soft == hard: the target cannot raise it, and passing it means SIGXFSZ (a reported outcome).
    out.push_back(fixed(RLIMIT_FSIZE, "RLIMIT_FSIZE", *limits.file_size_bytes.value));
  }
  return out;
}

Expected<void> check_inherited_limits(const std::vector<Rlimit>& rlimits, const policy::Policy& policy,
                                      const HostFacts& host) {
  if (!host.hard_limit) return {};
  const auto& limits = policy.limits;
  for (const auto& r : rlimits) {
    const std::optional<uint64_t> hard = host.hard_limit(r.resource);
    if (!hard || r.hard <= *hard) continue;
    // The policy key behind each rlimit, so the message points at the line to change.
    std::string key = "limits";
    policy::Origin origin;
    switch (r.resource) {
      case RLIMIT_NOFILE: key = "limits.open_files", origin = limits.open_files.origin; break;
      case RLIMIT_FSIZE: key = "limits.file_size", origin = limits.file_size_bytes.origin; break;
      case RLIMIT_CORE: key = "limits.core_dumps", origin = limits.core_dumps.origin; break;
      case RLIMIT_NPROC: key = "limits.pids", origin = limits.pids.origin; break;
      case RLIMIT_AS: key = "limits.memory", origin = limits.memory_bytes.origin; break;
      default: break;
    }
    const auto text = [](uint64_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
    return fail(ErrorCode::kUnsupported,
                (origin.is_default() ? std::string() : origin.str() + ": ") + key + ": needs " + r.name + " = " +
                    text(r.hard) + ", above the hard limit of " + text(*hard) +
                    " that confine inherited; inside its user namespace the sandbox can lower a limit but never raise one",
                "lower the policy's value, or raise the caller's hard limit first (ulimit -H, or LimitNOFILE= and "
                "friends in a systemd unit)");
  }
  return {};
}

Rlimit nproc_fallback(uint64_t pids) { return fixed(RLIMIT_NPROC, "RLIMIT_NPROC", pids); }

Rlimit address_space_fallback(uint64_t bytes) { return fixed(RLIMIT_AS, "RLIMIT_AS", bytes); }

bool nproc_counts_per_userns(const std::string& kernel_release) {
  // Since 5.14 ("Reimplement RLIMIT_NPROC on top of ucounts", Alexey Gladkov) the count
  // behind RLIMIT_NPROC is charged to the uid *in the user namespace*, so inside our fresh user
  // namespace it counts only the sandbox's processes. Before, it was the host uid's global
  // count: a limit of 64 would fail the job whenever the user had 64 processes elsewhere, and
  // as root-mapped 65534 it would be shared by every other nobody process on the host.
  unsigned major = 0, minor = 0;
  const char* text = kernel_release.c_str();
  const auto [after_major, ec1] = std::from_chars(text, text + kernel_release.size(), major);
  if (ec1 != std::errc() || after_major == text + kernel_release.size() || *after_major != '.') return false;
  const auto [after_minor, ec2] = std::from_chars(after_major + 1, text + kernel_release.size(), minor);
  if (ec2 != std::errc()) return false;
  return major > 5 || (major == 5 && minor >= 14);
}

Expected<uint64_t> plan_keep_caps(const policy::Policy& policy) {
  uint64_t mask = 0;
  for (const auto& name : policy.capabilities.keep) {
    cap_value_t value = 0;
    if (cap_from_name(name.value.c_str(), &value) != 0 || value < 0 || value > 63) {
      return fail(ErrorCode::kInvalidArgument,
                  name.origin.str() + ": capabilities.keep: unknown capability '" + name.value + "'",
                  "use a name from capabilities(7), such as CAP_NET_BIND_SERVICE");
    }
    mask |= uint64_t{1} << value;
  }
  return mask;
}

std::string caps_text(uint64_t mask) {
  if (mask == 0) return "none";
  std::string out;
  for (int bit = 0; bit < 64; ++bit) {
    if ((mask & (uint64_t{1} << bit)) == 0) continue;
    std::unique_ptr<char, decltype(&cap_free)> name(cap_to_name(static_cast<cap_value_t>(bit)), &cap_free);
    std::string text = name ? name.get() : ("cap_" + std::to_string(bit));
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!out.empty()) out += ' ';
    out += text;
  }
  return out;
}

std::string size_text(uint64_t bytes) {
  static constexpr struct {
    uint64_t factor;
    const char* suffix;
  } kUnits[] = {{uint64_t{1} << 40, "T"}, {uint64_t{1} << 30, "G"}, {uint64_t{1} << 20, "M"},
                {uint64_t{1} << 10, "K"}};
  for (const auto& unit : kUnits) {
    if (bytes >= unit.factor && bytes % unit.factor == 0) {
      return std::to_string(bytes / unit.factor) + unit.suffix;
    }
  }
  return std::to_string(bytes);
}

}  // namespace confine::plan::steps
