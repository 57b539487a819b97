// Landlock in the child: the second wall under the mounts (docs/security.md, "Landlock").
//
// The parent compiled the rules (plan/landlock.cpp); here they become three kinds of plain
// syscalls, none of which allocates:
//  - landlock_create_ruleset, before the first bind source is opened, so each bind's rule goes on
//    the very tree the child clones (filesystem.cpp open_sources): no path is looked up twice, and
//    a source swapped between planning and cloning cannot end up with a rule the bind lacks;
//  - landlock_add_rule as each sandbox mount (root, tmpfs, /dev and its nodes, /proc) is created,
//    since those inodes exist only from then on;
//  - landlock_restrict_self in the init, after the last mount (a Landlock-restricted process may
//    not change its mounts) and after no_new_privs (which it requires), before the target is
//    forked: the init and everything the target starts share one Landlock domain, which is also
//    what the signal and abstract-socket scopes are relative to.
#include "landlock.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "confine/landlock.h"
#include "report.h"

namespace confine::child {

int landlock_create(const Image& image) noexcept {
  if (image.landlock.abi <= 0) return -1;
  landlock::RulesetAttr attr;
  attr.handled_access_fs = image.landlock.handled_fs;
  attr.handled_access_net = image.landlock.handled_net;
  attr.scoped = image.landlock.scoped;
  // The plan masked every field to the kernel's ABI, so EINVAL here means the kernel claims an
  // ABI it does not fully have: a setup error, never a silently weaker ruleset.
  const long fd = ::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0U);
  if (fd < 0) die(image.error_fd, Step::kLandlockRuleset, 0, errno);
  return static_cast<int>(fd);
}

void landlock_allow(const Image& image, int ruleset, int fd, uint64_t access, int index) noexcept {
  if (ruleset < 0 || access == 0) return;
  landlock::PathBeneathAttr rule;
  rule.allowed_access = access;
  rule.parent_fd = fd;
  CONFINE_CHECK(::syscall(SYS_landlock_add_rule, ruleset, landlock::kRulePathBeneath, &rule, 0U), image.error_fd,
                Step::kLandlockRule, index);
}

void landlock_enforce(const Image& image, int ruleset) noexcept {
  if (ruleset < 0) return;
  CONFINE_CHECK(::syscall(SYS_landlock_restrict_self, ruleset, 0U), image.error_fd, Step::kLandlockRestrict, 0);
  ::close(ruleset);
}

}  // namespace confine::child
