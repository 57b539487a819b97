// Reading one policy file: size cap, byte-level checks, then TOML parsing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "confine/policy.h"

namespace confine::policy::detail {

struct SourceFile {
  std::pair<dev_t, ino_t> identity{};  // the same file reached by two names is one file
  std::optional<toml::table> table;    // absent when the file could not be read or parsed
};

// Reads and parses `path`. An open or read failure returns the errno (the caller decides where
// to report it: at the command line for the named file, at the `extends` entry for a base).
// Problems inside a readable file (too large, not UTF-8, NUL bytes, TOML syntax) are reported
// into `diagnostics` against the file itself.
struct ReadResult {
  int open_errno = 0;
  SourceFile source;
};
[[nodiscard]] ReadResult read_source(const std::string& path, uint64_t max_bytes,
                                     std::vector<Diagnostic>& diagnostics);

}  // namespace confine::policy::detail
