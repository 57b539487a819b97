// Renders the child's failure record into a report entry, using the parent's own copy of the
// plan to name the step: "bind[3] /data (policy.toml:12:7): open_tree: Permission denied".
#pragma once

#include "confine/child.h"
#include "confine/plan.h"
#include "confine/report.h"

namespace confine::launch {

[[nodiscard]] report::SetupFailure describe_failure(const child::ErrorRecord& record, const plan::Plan& plan);

}  // namespace confine::launch
