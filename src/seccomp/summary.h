// Internal: the human-readable lines of Program::summary, kept apart from BPF generation.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "confine/seccomp.h"

namespace confine::seccomp {

// What compile() decided about its built-in rules, for the summary.
struct BuiltinChoices {
  std::optional<Action> clone3_policy;  // the policy's own action for clone3, when it names it
  Action clone_namespaces;     // the action clone with a CLONE_NEW* flag gets
  bool clone_split = false;    // true when clone's action depends on its flags
  Action ioctl;                // the policy's action for ioctl
  bool ioctl_guarded = false;  // true when TIOCSTI/TIOCLINUX get EPERM inside an allowed ioctl
  std::vector<std::string> skipped;  // resolved names with no native number
  // hardening.cpp's argument rules, when added.
  std::vector<int> socket_families;  // allowed AF_* numbers
  bool setid_modes = false;
  bool openat2_enosys = false;
  bool fallocate_keep_size = false;
  bool unaccounted_memory = false;
  std::vector<std::string> supervised;  // names that notify for supervision
  bool listener_handoff = false;        // sendmsg on kListenerHandoffFd allowed despite the policy
};

// "allow", "kill process", "errno EPERM (1)".
[[nodiscard]] std::string describe(const Action& action);

[[nodiscard]] std::vector<std::string> summarize(const Resolved& resolved,
                                                 const BuiltinChoices& builtins);

}  // namespace confine::seccomp
