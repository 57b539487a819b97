// Internal to the child: the descriptor steps both entry points share (init.cpp, direct.cpp).
#pragma once

#include "sys.h"

namespace confine::child {

// Closes every fd except those in `keep` (ascending, at most a handful): fds the caller leaked
// without close-on-exec must never reach the sandbox.
inline int close_other_fds(const int* keep, int count) noexcept {
  unsigned next = 0;
  for (int i = 0; i < count; ++i) {
    const unsigned fd = static_cast<unsigned>(keep[i]);
    if (fd > next && sys::close_range(next, fd - 1, 0) < 0) return -1;
    next = fd + 1;
  }
  return sys::close_range(next, ~0U, 0);
}

inline void sort_small(int* v, int n) noexcept {
  for (int i = 1; i < n; ++i) {
    for (int j = i; j > 0 && v[j - 1] > v[j]; --j) {
      int t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  }
}

}  // namespace confine::child
