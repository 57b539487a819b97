// The reaper loop: waits for the job on its pidfd, relays the caller's signals, enforces the
// wall and CPU time limits (SIGTERM to everything, the kill grace, then SIGKILL to everything),
// escalates a cancel (SIGTERM or SIGINT to confine: forwarded, then after the kill grace SIGKILL
// to everything; a second SIGINT at once), and gathers what the kernel accounted.
#pragma once

#include <signal.h>

#include <chrono>
#include <optional>

#include "confine/cgroup.h"
#include "confine/learn.h"
#include "confine/child.h"
#include "confine/plan.h"
#include "confine/reap.h"
#include "confine/report.h"
#include "relay.h"

namespace confine::launch {

struct ReaperInput {
  const plan::Plan& plan;
  int pidfd;                    // the sandbox's init
  int signal_fd;                // SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT
  int error_fd;                 // child failure records; EOF = exec happened
  int status_fd;                // the target's wait status, from the init
  int notify_socket;            // delivers the target's seccomp listener; -1 without one
  const cgroup::Leaf* leaf;     // null when running without a cgroup
  Relay* relay;                 // the job's stdio, moved inside the loop; drained after the job
  std::chrono::steady_clock::time_point started;  // clone time: the wall limit counts from here
  // What ends the job at the init when there is no leaf to kill: SIGKILL (its pid namespace goes
  // with it), or in Landlock mode child::kDirectKillSignal (the init kills its process tree).
  int kill_signal = SIGKILL;
};

struct ReapResult {
  reap::ReapFacts facts;
  std::optional<child::ErrorRecord> setup_failure;
  std::optional<std::chrono::steady_clock::time_point> exec_at;
  uint64_t cpu_user_us = 0;
  uint64_t cpu_system_us = 0;
  std::optional<uint64_t> memory_peak_bytes;
  std::optional<uint64_t> pids_peak;
  report::Counters counters;
  std::optional<report::SeccompViolation> seccomp_violation;
  std::vector<report::Denial> denials;  // in the order first seen; would-be denials in an audit
  // --audit: paths the job tried that exist on the host but not in its sandbox.
  std::vector<report::AuditPath> audit_paths;
  // learn: every call, path and argument the learning filter showed (plan.learn).
  learn::Observations learned;
  // The first SIGTERM or SIGINT confine received while the job ran: the run was cancelled.
  std::optional<int> cancelled_by;
};

[[nodiscard]] ReapResult reap_job(const ReaperInput& input);

}  // namespace confine::launch
