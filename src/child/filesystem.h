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
  int output;    // the output area's mount, kept for the parent (-1 when the plan has none)
};

// Phase 1, with the caller's credentials: clone every bind source into a detached tree.
void open_sources(const Image& image, Trees& trees) noexcept;
// Phase 2, with the sandbox's ids: build the new root and pivot into it.
void build_root(const Image& image, Trees& trees) noexcept;
// Hands the output area's mount (trees.output) to the parent over image.output_fd and closes
// both: once the job is gone, the parent copies the area's files out through it.
void send_output_area(const Image& image, Trees& trees) noexcept;

}  // namespace confine::child
