// Internal to the child: identity and privilege steps (see privileges.cpp).
#pragma once

#include <cstdint>

#include "confine/child.h"

namespace confine::child {

void switch_ids(const Image& image) noexcept;
void drop_privileges(const Image& image, uint64_t keep) noexcept;
// Permitted, effective, inheritable and ambient all empty. Lowering needs no capability, so
// this works after drop_privileges left only `keep`; it reports nothing (the init calls it
// with no error pipe left).
void drop_remaining_capabilities() noexcept;
// Moves the notify socket to kListenerHandoffFd, raising RLIMIT_NOFILE's soft limit to reach
// it; called before the job's rlimits (which may lower it), before install_seccomp.
void move_listener_handoff(const Image& image) noexcept;
void install_seccomp(const Image& image) noexcept;
// Sets every signal in `mask` (bit n-1 = signal n) back to SIG_DFL; SIGKILL and SIGSTOP cannot
// change and are skipped, glibc's reserved ones fail harmlessly.
void reset_signal_dispositions(uint64_t mask) noexcept;
// capset(2) of this thread's three sets (bit N = capability N); the raw result.
int set_capabilities(uint64_t effective, uint64_t permitted, uint64_t inheritable) noexcept;

}  // namespace confine::child
