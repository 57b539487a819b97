// Internal to the child: the Landlock ruleset's three steps (see landlock.cpp).
#pragma once

#include <cstdint>

#include "confine/child.h"

namespace confine::child {

// Creates the ruleset the plan compiled (Image::landlock); -1 when the plan has none.
[[nodiscard]] int landlock_create(const Image& image) noexcept;
// Allows `access` beneath the file or directory `fd` refers to. Nothing when there is no ruleset
// or no access; `index` names the mount step in a failure record.
void landlock_allow(const Image& image, int ruleset, int fd, uint64_t access, int index) noexcept;
// Restricts this process (and every process it creates from now on) to the ruleset, then closes
// it. Needs no_new_privs; after this the process can change no mount.
void landlock_enforce(const Image& image, int ruleset) noexcept;

}  // namespace confine::child
