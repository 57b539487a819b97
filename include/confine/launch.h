// The parent half of a run: create the job's cgroup, clone the sandbox, feed it the plan, wait,
// enforce time limits, kill the whole job when needed, and collect what happened.
#pragma once

#include "confine/learn.h"
#include "confine/plan.h"
#include "confine/report.h"

namespace confine::launch {

// Runs `plan` to completion and returns the finished report (outcome, exit code, times,
// counters, protections, phases). Never throws for failures of the target or of setup: those
// are outcomes. The process must be single-threaded when this is called (checked).
// With `learned` (a plan made for `confine learn`), what the learning filter showed goes there.
[[nodiscard]] report::Report run(const plan::Plan& plan, learn::Observations* learned = nullptr);

}  // namespace confine::launch
