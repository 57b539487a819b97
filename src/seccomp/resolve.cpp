// Flattening a policy's seccomp rules into one action per syscall.
#include <string>

#include "confine/seccomp.h"

namespace confine::seccomp {

namespace {

// The kernel returns errno values through a 16-bit field but only treats -1..-4095 as errors
// (MAX_ERRNO); anything larger would look like a successful return value to the program.
constexpr int kMaxErrno = 4095;

std::string where(const policy::Origin& origin) {
  if (origin.file.empty()) return "default";
  return origin.file + ":" + std::to_string(origin.line) + ":" + std::to_string(origin.column);
}

Expected<Action> make_action(policy::SeccompAction kind, int errno_value,
                             const policy::Origin& origin) {
  if (kind != policy::SeccompAction::kErrno) return Action{kind, 0};
  if (errno_value < 1 || errno_value > kMaxErrno) {
    return fail(ErrorCode::kInvalidArgument,
                where(origin) + ": seccomp errno " + std::to_string(errno_value) +
                    " is out of range",
                "use a value from 1 to 4095, such as 1 (EPERM) or 38 (ENOSYS)");
  }
  return Action{kind, errno_value};
}

}  // namespace

Expected<Resolved> resolve(const policy::Policy::Seccomp& seccomp) {
  Resolved out;
  auto default_action = make_action(seccomp.default_action.value, seccomp.errno_value.value,
                                    seccomp.default_action.origin);
  if (!default_action) return unexpected(std::move(default_action.error()));
  out.default_action = *default_action;
  out.default_action.log = seccomp.log.value && out.default_action.kind == policy::SeccompAction::kErrno;

  for (size_t i = 0; i < seccomp.rules.size(); ++i) {
    const policy::SeccompRule& rule = seccomp.rules[i];
    auto context = "seccomp rule " + std::to_string(i) + " at " + where(rule.origin);
    auto action = make_action(rule.action, rule.errno_value.value_or(seccomp.errno_value.value),
                              rule.origin);
    if (!action) return unexpected(std::move(action.error()).add_context(context));
    action->log = rule.log && rule.action == policy::SeccompAction::kErrno;
    auto names = expand(rule.syscalls);
    if (!names) return unexpected(std::move(names.error()).add_context(context));
    for (std::string& name : *names) out.syscalls.insert_or_assign(std::move(name), *action);
  }
  return out;
}

}  // namespace confine::seccomp
