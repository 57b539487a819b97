// Paths confine itself opens on the host while running as root: the report file, policy files,
// the output area's destination. Each is resolved one component at a time from "/" by
// descriptor, so no symlink or directory that another user controls can redirect it.
//
// The rule for symlinks on the way: followed only when root owns them (the system's own, such as
// /var/run -> /run). A link another user planted (a job's link in its old job directory, where
// a later run's report goes) is refused: as root, following it would create or truncate a
// root-owned file wherever the link points. Rootless, a job's links are owned by the caller
// too, so the same rule holds there.
#pragma once

#include <sys/types.h>

#include <string>

#include "confine/error.h"
#include "confine/fd.h"

namespace confine::safe_path {

// The directory `path` (absolute or relative to the cwd), opened O_PATH|O_DIRECTORY by walking
// its components; symlinks on the way followed only when root owns them, at most 40.
[[nodiscard]] Expected<UniqueFd> open_directory(const std::string& path);

// `path` opened for writing, created with `mode` when missing and truncated when it is a
// regular file: its directory through open_directory, the file itself never through a symlink
// (O_NOFOLLOW), without waiting (a FIFO with no reader is an error, not a hang), and only a
// regular file without other hard links, a FIFO or a character device (/dev/null).
[[nodiscard]] Expected<UniqueFd> open_for_writing(const std::string& path, mode_t mode);

// For files confine trusts as root (policies): `path` and every directory above it, resolved as
// open_directory does, is owned by root or by `owner` and writable by nobody else. A directory
// writable by others is accepted only with the sticky bit (as /tmp), and then only when the
// entry below it is owned by root or `owner` (nobody else can rename or remove it there).
[[nodiscard]] Expected<void> check_trusted(const std::string& path, uid_t owner);

}  // namespace confine::safe_path
