// Checks that need the whole merged policy: duplicates within a list, and paths that two lists
// claim at once. Run after every file is applied, and again after command-line overrides.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "confine/policy.h"
#include "reader.h"

namespace confine::policy::detail {

// `key_for` names a list element for diagnostics ("filesystem.ro[2]", "--rw");
// `files` is the applied order, so each conflict is reported at the entry applied last.
void finalize(Policy& policy, const KeyIndex& keys, std::vector<Diagnostic>& diagnostics);

// Stable order for output: by file, then line, then column.
void sort_diagnostics(std::vector<Diagnostic>& diagnostics);

inline constexpr std::string_view kCommandLine = "<command line>";

}  // namespace confine::policy::detail
