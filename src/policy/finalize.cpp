// Whole-policy checks after merging (see finalize.h).
#include "finalize.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace confine::policy::detail {
namespace {

// Position of an origin in application order: files in `files` order, the command line last.
std::tuple<size_t, uint32_t, uint32_t> applied_position(const Origin& origin, const std::vector<std::string>& files) {
  size_t index = 0;
  if (origin.file == kCommandLine) {
    index = files.size() + 1;
  } else if (!origin.is_default()) {
    auto it = std::find(files.begin(), files.end(), origin.file);
    index = static_cast<size_t>(it - files.begin()) + 1;
  }
  return {index, origin.line, origin.column};
}

// The same path twice in one list is one rule; the later entry wins (its flags and origin) but
// keeps the first one's place, since order matters to mounts nested inside each other.
template <class Rule>
void deduplicate(std::vector<Rule>& rules) {
  std::map<std::string, size_t> first;
  std::vector<Rule> out;
  for (auto& rule : rules) {
    auto [it, inserted] = first.emplace(rule.path, out.size());
    if (inserted) {
      out.push_back(std::move(rule));
    } else {
      out[it->second] = std::move(rule);
    }
  }
  rules = std::move(out);
}

void deduplicate_names(std::vector<Sourced<std::string>>& names) {
  std::map<std::string, size_t> first;
  std::vector<Sourced<std::string>> out;
  for (auto& name : names) {
    auto [it, inserted] = first.emplace(name.value, out.size());
    if (inserted) {
      out.push_back(std::move(name));
    } else {
      out[it->second] = std::move(name);
    }
  }
  names = std::move(out);
}

struct Claim {
  std::string_view what;  // "read-only", "a tmpfs", ...
  std::string_view list;  // "filesystem.ro"
  std::string_view flag;  // "--ro"
  const std::string* path;
  const Origin* origin;
};

class ConflictChecker {
 public:
  ConflictChecker(const Policy& policy, const KeyIndex& keys, std::vector<Diagnostic>& diagnostics)
      : policy_(policy), keys_(keys), diagnostics_(diagnostics) {}

  // Reports every claim at or under /dev or /proc while the policy has confine mount fresh ones
  // there (filesystem.dev, filesystem.proc): the bind or tmpfs would be hidden or clobbered.
  // The plan refuses these too; finding them here lets `confine check` say so, located.
  void check_special(const std::vector<Claim>& claims) {
    const struct {
      std::string_view dir;
      bool on;
      std::string_view option;
    } specials[] = {{"/dev", policy_.filesystem.dev.value, "filesystem.dev"},
                    {"/proc", policy_.filesystem.proc.value, "filesystem.proc"}};
    for (const auto& special : specials) {
      if (!special.on) continue;
      for (const Claim& claim : claims) {
        const std::string_view path = *claim.path;
        const bool within = path == special.dir || (path.size() > special.dir.size() && path.substr(0, special.dir.size()) == special.dir &&
                                                    path[special.dir.size()] == '/');
        if (!within) continue;
        diagnostics_.push_back(Diagnostic{
            *claim.origin, key_of(claim),
            "'" + *claim.path + "' is under " + std::string(special.dir) + ", which " + std::string(special.option) +
                " = true replaces with a fresh mount; remove this rule, or set " + std::string(special.option) +
                " = false if the sandbox really needs the host's " + std::string(special.dir)});
      }
    }
  }

  // The sandbox's root is always a fresh tmpfs confine builds (and rw "/" is refused where it is
  // read): a rule at "/" itself could only replace or hide all of it.
  void check_root(std::initializer_list<const std::vector<Claim>*> lists) {
    for (const auto* list : lists) {
      for (const Claim& claim : *list) {
        if (*claim.path != "/") continue;
        diagnostics_.push_back(Diagnostic{*claim.origin, key_of(claim),
                                          "'/' cannot be " + std::string(claim.what) +
                                              ": the sandbox's root is always a fresh tmpfs; list the "
                                              "directories to expose instead"});
      }
    }
  }

  // Reports every path claimed by both `a` and `b`, at whichever claim was applied later.
  void check(const std::vector<Claim>& a, const std::vector<Claim>& b, std::string_view why) {
    std::map<std::string_view, const Claim*> by_path;
    for (const Claim& claim : a) by_path.emplace(*claim.path, &claim);
    for (const Claim& claim : b) {
      auto it = by_path.find(*claim.path);
      if (it == by_path.end()) continue;
      const Claim* first = it->second;
      const Claim* later = &claim;
      if (applied_position(*first->origin, policy_.files) > applied_position(*later->origin, policy_.files)) {
        std::swap(first, later);
      }
      diagnostics_.push_back(Diagnostic{
          *later->origin, key_of(*later),
          "'" + *later->path + "' is " + std::string(later->what) + " here and " + std::string(first->what) +
              " at " + first->origin->str() + " (" + key_of(*first) + "); " + std::string(why)});
    }
  }

 private:
  std::string key_of(const Claim& claim) const {
    if (claim.origin->file == kCommandLine) return std::string(claim.flag);
    return keys_.find(*claim.origin, claim.list);
  }

  const Policy& policy_;
  const KeyIndex& keys_;
  std::vector<Diagnostic>& diagnostics_;
};

template <class Rule>
std::vector<Claim> claims(const std::vector<Rule>& rules, std::string_view what, std::string_view list,
                          std::string_view flag) {
  std::vector<Claim> out;
  out.reserve(rules.size());
  for (const Rule& rule : rules) out.push_back(Claim{what, list, flag, &rule.path, &rule.origin});
  return out;
}

}  // namespace

void finalize(Policy& policy, const KeyIndex& keys, std::vector<Diagnostic>& diagnostics) {
  auto& fs = policy.filesystem;
  deduplicate(fs.ro);
  deduplicate(fs.rw);
  deduplicate(fs.deny);
  deduplicate(fs.tmpfs);
  deduplicate_names(policy.env.keep);
  deduplicate_names(policy.env.allow_secrets);
  deduplicate_names(policy.capabilities.keep);

  const auto ro = claims(fs.ro, "read-only", "filesystem.ro", "--ro");
  const auto rw = claims(fs.rw, "read-write", "filesystem.rw", "--rw");
  const auto deny = claims(fs.deny, "denied", "filesystem.deny", "--deny");
  const auto tmpfs = claims(fs.tmpfs, "a tmpfs", "filesystem.tmpfs", "--tmpfs");
  ConflictChecker checker(policy, keys, diagnostics);
  checker.check(ro, rw, "a path can be read-only or read-write, not both");
  checker.check(ro, deny, "deny masks paths inside an allowed tree, not the allowed path itself");
  checker.check(rw, deny, "deny masks paths inside an allowed tree, not the allowed path itself");
  checker.check(ro, tmpfs, "the tmpfs would hide the bind mount");
  checker.check(rw, tmpfs, "the tmpfs would hide the bind mount");
  for (const auto* list : {&ro, &rw, &tmpfs}) checker.check_special(*list);
  checker.check_root({&ro, &deny, &tmpfs});

  // Each path rule is at most one mount step, and the sandbox has room for a fixed number of
  // them (kMaxPathRules): refused here, located at the first rule past the limit, so `confine
  // check` and `--dry-run` say so instead of the launch.
  const size_t rules = fs.ro.size() + fs.rw.size() + fs.deny.size() + fs.tmpfs.size();
  if (rules > kMaxPathRules) {
    std::vector<const Claim*> all;
    for (const auto* list : {&ro, &rw, &deny, &tmpfs}) {
      for (const Claim& claim : *list) all.push_back(&claim);
    }
    std::stable_sort(all.begin(), all.end(), [&](const Claim* a, const Claim* b) {
      return applied_position(*a->origin, policy.files) < applied_position(*b->origin, policy.files);
    });
    const Claim& first_past = *all[kMaxPathRules];
    diagnostics.push_back(Diagnostic{
        *first_past.origin,
        first_past.origin->file == kCommandLine ? std::string(first_past.flag) : keys.find(*first_past.origin, first_past.list),
        std::to_string(rules) + " path rules (ro, rw, deny and tmpfs together); at most " +
            std::to_string(kMaxPathRules) + " fit in the sandbox's mount table: bind a common parent "
            "directory instead of many paths under it"});
  }

  // vsock has one port space for the whole machine, leading to the hypervisor: no network
  // namespace contains it, so "no network" can never include it, whatever a base allowed.
  const auto& families = policy.network.socket_families;
  if (policy.network.mode.value == NetworkMode::kNone &&
      std::find(families.value.begin(), families.value.end(), "vsock") != families.value.end()) {
    diagnostics.push_back(Diagnostic{
        families.origin, "network.socket_families",
        "'vsock' cannot be allowed with network.mode = \"none\" (" + policy.network.mode.origin.str() +
            "): vsock sockets are not confined by a network namespace and reach the host and the hypervisor"});
  }
}

void sort_diagnostics(std::vector<Diagnostic>& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.origin.file, a.origin.line, a.origin.column) <
           std::tie(b.origin.file, b.origin.line, b.origin.column);
  });
}

}  // namespace confine::policy::detail
