// Internal: adding rules to a libseccomp context, shared by compile() and the argument-filtered
// built-ins (hardening.cpp).
#pragma once

#include <seccomp.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "confine/seccomp.h"
#include "summary.h"

namespace confine::seccomp {

// The libseccomp action for `action`. Under `notify`, a denial confine should hear of becomes
// SECCOMP_RET_USER_NOTIF: the calling thread blocks in the syscall until the reaper, told which
// syscall it was, decides it (kills the job, fails the call, or lets it run in audit mode).
[[nodiscard]] uint32_t to_libseccomp(const Action& action, Notify notify = Notify::kNone);

[[nodiscard]] inline scmp_arg_cmp masked_eq(unsigned arg, uint64_t mask, uint64_t value) {
  return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, mask, value};
}

// The complement of `values` within the 32-bit space, as disjoint (mask, value) prefix cubes:
// walk the binary trie of the values from the top bit and emit every branch that holds none of
// them. k values give at most 32*k cubes, each one MASKED_EQ comparison.
void complement_cubes(const std::vector<uint32_t>& values, int bit, uint32_t prefix,
                      std::vector<std::pair<uint32_t, uint32_t>>& out);

class Builder {
 public:
  Builder(scmp_filter_ctx ctx, const Resolved& resolved, Notify notify, bool watch_paths = false)
      : ctx_(ctx), resolved_(resolved), notify_(notify), watch_paths_(watch_paths) {}

  // The policy's action for `name`: its own rule, else the default.
  [[nodiscard]] Action action_for(const std::string& name) const;
  [[nodiscard]] const Action& default_action() const { return resolved_.default_action; }
  [[nodiscard]] Notify notify() const { return notify_; }

  // Adds `action` for `name` under all of `conditions` (ANDed). A rule that repeats the default
  // action is left out: libseccomp rejects it and it would change nothing. A name with no
  // native number adds nothing (the caller reports it as skipped).
  [[nodiscard]] Expected<void> add(const Action& action, const std::string& name,
                                   const std::vector<scmp_arg_cmp>& conditions = {});
  // The same by number, for syscalls newer than libseccomp's tables (fchmodat2).
  [[nodiscard]] Expected<void> add_nr(const Action& action, int nr, const std::string& label,
                                      const std::vector<scmp_arg_cmp>& conditions = {});
  // A raw libseccomp action (SCMP_ACT_NOTIFY for supervision), by name.
  [[nodiscard]] Expected<void> add_raw(uint32_t action, const std::string& name);

  // True when CompileOptions::watch_paths makes an allowed `name` notify confine.
  [[nodiscard]] bool watched(const std::string& name) const;

 private:
  // The libseccomp action for `action` on `name`: to_libseccomp, except that an allowed watched
  // call notifies.
  [[nodiscard]] uint32_t lib_action(const Action& action, const std::string& name) const;
  // Whether a rule would repeat the default: then it is left out (libseccomp refuses it).
  [[nodiscard]] bool repeats_default(const Action& action, const std::string& name) const;

  scmp_filter_ctx ctx_;
  const Resolved& resolved_;
  Notify notify_;
  bool watch_paths_;
};

// hardening.cpp: the calls a learning filter also watches besides the path syscalls.
[[nodiscard]] bool learn_watched(const std::string& name);

// hardening.cpp: the built-ins that filter on arguments, each a no-op unless `options` asks for
// it (socket families, set-id modes, fallocate KEEP_SIZE, unaccounted memory), and the
// supervision intercepts of notify mode. Each records what it did in `choices`.
[[nodiscard]] Expected<void> add_socket_families(Builder& b, const CompileOptions& options,
                                                 BuiltinChoices& choices);
[[nodiscard]] Expected<void> add_setid_modes(Builder& b, const CompileOptions& options,
                                             BuiltinChoices& choices);
[[nodiscard]] Expected<void> add_fallocate(Builder& b, const CompileOptions& options, BuiltinChoices& choices);
[[nodiscard]] Expected<void> add_unaccounted_memory(Builder& b, const CompileOptions& options,
                                                    BuiltinChoices& choices);
[[nodiscard]] Expected<void> add_path_metadata(Builder& b, const CompileOptions& options, BuiltinChoices& choices);
[[nodiscard]] Expected<void> add_own_process_only(Builder& b, const CompileOptions& options, BuiltinChoices& choices);
[[nodiscard]] Expected<void> add_supervision(Builder& b, BuiltinChoices& choices);
[[nodiscard]] Expected<void> add_listener_handoff(Builder& b, BuiltinChoices& choices);

// The syscalls hardening.cpp filters on their arguments: compile() leaves them to it.
[[nodiscard]] bool handled_by_hardening(const std::string& name, const CompileOptions& options);

}  // namespace confine::seccomp
