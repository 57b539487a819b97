// The reaper's decision: ReapFacts in, one outcome and confine's exit code out.
//
// The rules are an ordered list, first match wins (include/confine/reap.h, docs/report.md).
// The order encodes causality: a failure before the target ran explains everything after it;
// a limit confine enforced (memory, time) explains the signal it was enforced with; a signal
// the kernel sends for one specific reason (SIGSYS, SIGXFSZ) is named for that reason before
// falling back to "signaled".
#include <cerrno>
#include <csignal>

#include "confine/reap.h"

namespace confine::reap {
namespace {

using report::Outcome;

Classification make(Outcome outcome, int exit_code, std::vector<std::string> limits = {}) {
  return Classification{outcome, exit_code, std::move(limits)};
}

bool died_of(const ReapFacts& facts, int signal) {
  return facts.term_signal.has_value() && *facts.term_signal == signal;
}

Classification decide(const ReapFacts& facts) {
  if (facts.setup_failed) {
    return make(Outcome::kSetupError, report::kExitConfineFailed);
  }
  if (facts.exec_errno.has_value()) {
    // As GNU timeout(1) and POSIX shells: 127 "not found", 126 "found but could not run"
    // (EACCES, ENOEXEC, ETXTBSY, ...).
    const int code = *facts.exec_errno == ENOENT ? report::kExitNotFound
                                                 : report::kExitNotExecutable;
    return make(Outcome::kExecError, code);
  }
  // oom_group_kill means the kernel killed the whole group, the target included. A plain
  // oom_kill counts any process in the cgroup, so it only explains the ending when the target
  // itself died of SIGKILL; a grandchild's OOM kill under a target that carried on is recorded
  // in the counters, not as the outcome.
  if (facts.oom_group_kills > 0 || (facts.oom_kills > 0 && died_of(facts, SIGKILL))) {
    return make(Outcome::kOom, report::kExitSignalBase + SIGKILL, {"memory"});
  }
  // Ahead of every signal rule: confine enforces timeouts by killing, so the signal that follows
  // is a consequence, not the cause.
  if (facts.wall_timeout) {
    return make(Outcome::kWallTimeout, report::kExitTimeout, {"wall_time"});
  }
  if (facts.cpu_timeout) {
    return make(Outcome::kCpuTimeout, report::kExitTimeout, {"cpu_time"});
  }
  // Enforced by killing too: the job's SIGKILL follows from it.
  if (facts.output_limit) {
    return make(Outcome::kOutputLimit, report::kExitOutputLimit, {"output"});
  }
  // A notified violation keeps its outcome even when the supervisor then killed the target
  // with another signal; the exit code is always 128+SIGSYS so it does not depend on how the
  // kill was delivered.
  if (facts.seccomp_notified || died_of(facts, SIGSYS)) {
    return make(Outcome::kSeccompViolation, report::kExitSignalBase + SIGSYS);
  }
  // The kernel sends SIGXFSZ only for RLIMIT_FSIZE; an inherited limit is still a file size
  // limit the job ran into, so whether the policy set one does not matter.
  if (died_of(facts, SIGXFSZ)) {
    return make(Outcome::kFileSizeLimit, report::kExitSignalBase + SIGXFSZ, {"file_size"});
  }
  if (facts.term_signal.has_value()) {
    return make(Outcome::kSignaled, report::kExitSignalBase + *facts.term_signal);
  }
  if (facts.exit_code.has_value()) {
    return *facts.exit_code == 0 ? make(Outcome::kOk, 0)
                                 : make(Outcome::kExitNonzero, *facts.exit_code);
  }
  // Neither an exit nor a signal was observed and nothing above explains it: confine lost track
  // of the target, which is confine's failure, not the target's.
  return make(Outcome::kSetupError, report::kExitConfineFailed);
}

}  // namespace

Classification classify(const ReapFacts& facts) {
  Classification result = decide(facts);
  // Hitting pids.max makes fork fail with EAGAIN; the job may have coped, so it is a fact
  // worth reporting whatever the ending, never an ending of its own.
  if (facts.pids_max_hits > 0) {
    result.limits_hit.emplace_back("pids");
  }
  return result;
}

}  // namespace confine::reap
