// Failure reporting from the child: one fixed-size record on the error pipe, then _exit.
#pragma once

#include <unistd.h>

#include <cerrno>

#include "confine/child.h"

namespace confine::child {

inline constexpr int kSetupFailedExit = 125;  // init/target exit code after a reported failure

// Writes the record (a single write of 12 bytes is atomic on a pipe) and exits without running
// atexit handlers or flushing stdio: this process shares nothing it may clean up.
[[noreturn]] inline void die(int error_fd, Step step, int index, int err) noexcept {
  ErrorRecord record;
  record.step = step;
  record.index = static_cast<uint16_t>(index);
  record.sys_errno = err;
  ssize_t ignored = ::write(error_fd, &record, sizeof(record));
  (void)ignored;
  ::_exit(kSetupFailedExit);
}

// `if (call < 0) die(...)` with errno captured immediately.
#define CONFINE_CHECK(call, fd, step, index)                  \
  do {                                                        \
    if ((call) < 0) ::confine::child::die((fd), (step), (index), errno); \
  } while (0)

}  // namespace confine::child
