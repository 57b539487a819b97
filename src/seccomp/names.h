// Internal helpers shared by the seccomp sources: syscall name tables and errno names.
#pragma once

#include <string>
#include <vector>

namespace confine::seccomp {

// Every syscall name that has a number on the native architecture, sorted.
[[nodiscard]] const std::vector<std::string>& native_syscall_names();
// "EPERM" for 1, or the number as text when glibc has no name for it.
[[nodiscard]] std::string errno_name(int errno_value);

}  // namespace confine::seccomp
