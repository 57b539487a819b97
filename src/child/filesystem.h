// Internal to the child: the two filesystem phases (see filesystem.cpp).
#pragma once

#include "confine/child.h"

namespace confine::child {

// Detached mount trees, indexed like Image::mounts (-1 for steps without one), plus the device
// nodes for a kDev step.
struct Trees {
  int fds[kMaxMountSteps];
  int dev_fds[kDevNodeCount];
  int landlock;  // the Landlock ruleset being filled (landlock.h), -1 when the plan has none
};

// Phase 1, with the caller's credentials: clone every bind source into a detached tree.
void open_sources(const Image& image, Trees& trees) noexcept;
// Phase 2, with the sandbox's ids: build the new root and pivot into it.
void build_root(const Image& image, Trees& trees) noexcept;

}  // namespace confine::child
