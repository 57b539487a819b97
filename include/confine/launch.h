// The parent half of a run: create the job's cgroup, clone the sandbox, feed it the plan, wait,
// enforce time limits, kill the whole job when needed, and collect what happened.
#pragma once

#include <memory>

#include "confine/error.h"
#include "confine/learn.h"
#include "confine/plan.h"
#include "confine/report.h"

namespace confine::launch {

// A sandbox cloned ahead of its job (`confine batch`, docs/batch.md): the expensive part of a
// launch that does not depend on what the job runs (the cgroup leaf, the namespace owner, the
// clone into fresh user, mount, pid, net, ipc, uts and cgroup namespaces, the id maps) done while
// the worker has nothing else to do. The child waits, holding nothing but /dev/null and its own
// channels, until run() hands it one job's image and descriptors; it then builds that job's
// root, filter and target exactly as a fresh clone does. A spare serves one job and is never
// reused; dropping it ends its child and removes its leaf.
class Spare;
struct SpareDeleter {
  void operator()(Spare* spare) const;
};
using SparePtr = std::unique_ptr<Spare, SpareDeleter>;

// A spare shaped like `like` (its namespaces, id maps, cgroup parent and controllers, namespace
// owner). An error when the plan cannot have one (Landlock mode) or a step fails.
[[nodiscard]] Expected<SparePtr> make_spare(const plan::Plan& like);

// Runs `plan` to completion and returns the finished report (outcome, exit code, times,
// counters, protections, phases). Never throws for failures of the target or of setup: those
// are outcomes. The process must be single-threaded when this is called (checked).
// With `learned` (a plan made for `confine learn`), what the learning filter showed goes there.
// With `spare`, the job runs in it when it fits the plan and is still alive, and in a fresh
// clone otherwise; either way *spare is used up (reset) by the time this returns.
[[nodiscard]] report::Report run(const plan::Plan& plan, learn::Observations* learned = nullptr,
                                 SparePtr* spare = nullptr);

}  // namespace confine::launch
