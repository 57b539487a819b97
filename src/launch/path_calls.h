// Reading what a watched syscall names (seccomp::CompileOptions::watch_paths): where its path
// arguments sit, the path string read from the caller's memory, resolved against its dirfd or cwd,
// and what the call does to it. The reaper uses this for `confine learn` and `run --audit`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "confine/learn.h"

namespace confine::launch {

// One path a call names, read and resolved.
struct NamedPath {
  std::string path;  // absolute, as the caller's sandbox names it
  learn::Access access = learn::Access::kRead;
};

// The paths syscall `nr` with `args` names in process `pid` (a thread id is fine), resolved
// against its descriptors and cwd through /proc/PID. Empty when `nr` is not a path call or the
// memory could not be read (the caller gone). Racy by nature: another thread of the caller may
// change the string after it is read (seccomp_unotify(2)); learning is not enforcement.
[[nodiscard]] std::vector<NamedPath> named_paths(pid_t pid, int nr, const uint64_t (&args)[6]);

// Whether `path` (as the sandbox names it) exists inside pid's root; lstat-like on the last
// component, symlinks before it resolved inside that root (RESOLVE_IN_ROOT).
[[nodiscard]] bool exists_in_root(pid_t pid, const std::string& path);
// Whether it exists on the host (lstat).
[[nodiscard]] bool exists_on_host(const std::string& path);

// How the host reaches `path`: the symlinks met on the way (each as its own absolute path, e.g.
// /lib64 and /usr/lib64/ld-linux-x86-64.so.2), and the real path at the end. A policy needs
// both: the plan refuses a bind through a symlink and recreates a listed symlink inside.
struct HostChain {
  std::vector<std::string> links;
  std::string real;
  bool directory = false;
};
[[nodiscard]] HostChain host_chain(const std::string& path);

// The executable of pid (readlink /proc/PID/exe) and the files mapped into it (/proc/PID/maps).
[[nodiscard]] std::optional<std::string> executable_of(pid_t pid);
[[nodiscard]] std::vector<std::string> mapped_files(pid_t pid);
// How many descriptors pid has open (/proc/PID/fd), or nullopt when it cannot be read.
[[nodiscard]] std::optional<uint64_t> open_descriptors(pid_t pid);

// The ELF interpreter pid's executable names (PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2): the
// kernel opens it during execve, so no syscall shows that path, and maps shows only where it
// really is. nullopt for a static binary or a script.
[[nodiscard]] std::optional<std::string> elf_interpreter(pid_t pid);

}  // namespace confine::launch
