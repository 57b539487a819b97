// The report for a person: outcome_sentence() (the one line confine prints when a run does not
// end ok) and to_text() (`confine report FILE`, `--report-format text`). Both read only the
// Report, so a report file read back gives the same words as the run that wrote it.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "confine/report.h"

namespace confine::report {
namespace {

const Protection* find(const Report& r, std::string_view name) {
  for (const auto& p : r.enforced) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// "2000ms" (how the plan states time limits) as an author writes it: "2s", "1m30s", "250ms".
std::string duration_text(std::string_view detail) {
  uint64_t ms = 0;
  size_t i = 0;
  for (; i < detail.size() && detail[i] >= '0' && detail[i] <= '9' && i < 18; ++i) ms = ms * 10 + (detail[i] - '0');
  if (i == 0 || detail.substr(i, 2) != "ms") return std::string(detail.substr(0, detail.find(' ')));
  std::string out;
  const struct {
    uint64_t factor;
    const char* unit;
  } kUnits[] = {{3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}};
  for (const auto& unit : kUnits) {
    if (ms >= unit.factor) {
      out += std::to_string(ms / unit.factor) + unit.unit;
      ms %= unit.factor;
    }
  }
  return out.empty() ? "0s" : out;
}

// The value a limit protection was in force with ("512M", "2s"), or "" when it was not.
std::string limit_of(const Report& r, std::string_view name) {
  const Protection* p = find(r, name);
  if (p == nullptr || (p->status != "enforced" && p->status != "enforced_fallback") || p->detail.empty()) return {};
  if (name == "wall_time" || name == "cpu_time") return duration_text(p->detail);
  return p->detail.substr(0, p->detail.find(' '));
}

std::string with_limit(const std::string& what, const std::string& limit) {
  return limit.empty() ? what : what + " " + limit;
}

std::string exec_errno_phrase(int err) {
  switch (err) {
    case ENOENT: return "not found in the sandbox";
    case EACCES: return "permission denied (not executable for the sandbox's user, or on a noexec mount)";
    case ENOEXEC: return "not a format the kernel can execute (a script needs a #! line)";
    case ETXTBSY: return "busy: open for writing while it was executed";
    default: return err == 0 ? std::string("could not be executed") : std::string(std::strerror(err));
  }
}

std::string bytes_text(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  char buffer[32];
  if (unit == 0) {
    std::snprintf(buffer, sizeof buffer, "%" PRIu64 " B", bytes);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f %s", value, kUnits[unit]);
  }
  return buffer;
}

std::string seconds_text(uint64_t us) {
  char buffer[32];
  if (us < 1000) {
    std::snprintf(buffer, sizeof buffer, "%" PRIu64 " us", us);
  } else if (us < 1'000'000) {
    std::snprintf(buffer, sizeof buffer, "%.1f ms", static_cast<double>(us) / 1e3);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.3f s", static_cast<double>(us) / 1e6);
  }
  return buffer;
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

void row(std::string& out, std::string_view label, const std::string& value) {
  out += label;
  out.append(label.size() < 14 ? 14 - label.size() : 1, ' ');
  out += value;
  out += '\n';
}

}  // namespace

void mark_never_started(Report& report) {
  report.target_exit_code.reset();
  report.signal.reset();
  report.core_dumped = false;
  report.wall_time_us = 0;
  report.cpu_user_us = 0;
  report.cpu_system_us = 0;
}

std::string outcome_sentence(const Report& r) {
  std::string s;
  const std::string signal = r.signal ? signal_name(*r.signal) : std::string("a signal");
  switch (r.outcome) {
    case Outcome::kOk:
      break;
    case Outcome::kExitNonzero:
      s = "job exited with code " + std::to_string(r.target_exit_code.value_or(r.exit_code));
      break;
    case Outcome::kSignaled:
      s = "job killed by " + signal + (r.core_dumped ? " (core dumped)" : "");
      break;
    case Outcome::kOom: {
      const std::string limit = limit_of(r, "memory_limit");
      s = "out of memory" + (limit.empty() ? std::string() : " (limit " + limit + ")");
      break;
    }
    case Outcome::kWallTimeout:
      s = with_limit("wall time limit", limit_of(r, "wall_time")) + " reached; job killed";
      break;
    case Outcome::kCpuTimeout:
      s = with_limit("CPU time limit", limit_of(r, "cpu_time")) + " reached; job killed";
      break;
    case Outcome::kOutputLimit:
      s = with_limit("output limit", limit_of(r, "output_limit")) + " reached; job killed";
      if (r.output && r.output->dropped_bytes > 0) s += " (" + bytes_text(r.output->dropped_bytes) + " not passed on)";
      break;
    case Outcome::kSeccompViolation:
      if (r.seccomp_violation && !r.seccomp_violation->syscall.empty()) {
        s = "job killed by seccomp: " + r.seccomp_violation->syscall;
        if (r.seccomp_violation->nr >= 0) s += " (nr " + std::to_string(r.seccomp_violation->nr) + ")";
      } else {
        s = "job killed by seccomp (SIGSYS; the syscall was not named: no seccomp supervisor for this run)";
      }
      break;
    case Outcome::kFileSizeLimit:
      s = "job wrote past its file size limit; killed by SIGXFSZ";
      break;
    case Outcome::kSetupError:
      s = r.setup_error && !r.setup_error->message.empty() ? r.setup_error->message : "setup failed before the job started";
      s = s.substr(0, s.find('\n'));
      break;
    case Outcome::kExecError:
      if (r.exec_error && !r.exec_error->message.empty()) {
        s = r.exec_error->message;
      } else {
        s = (r.exec_error ? r.exec_error->path : std::string("the command")) + ": " +
            exec_errno_phrase(r.exec_error ? r.exec_error->sys_errno : 0);
      }
      break;
  }
  if (r.cancelled) {
    const std::string by = "cancelled by " + *r.cancelled;
    if (r.outcome == Outcome::kSignaled && r.signal && signal_name(*r.signal) == "SIGKILL") {
      s = by + "; the job did not end within its kill grace and was killed (SIGKILL)";
    } else if (r.outcome == Outcome::kSignaled || r.outcome == Outcome::kOk || r.outcome == Outcome::kExitNonzero) {
      s = by + "; " + (s.empty() ? std::string("job exited with code 0") : s);
    } else {
      s += " (" + by + ")";
    }
  }
  return s;
}

std::string to_text(const Report& r) {
  std::string out;
  const std::string sentence = outcome_sentence(r);
  row(out, "outcome", std::string(to_string(r.outcome)) + (sentence.empty() ? "" : ": " + sentence));
  row(out, "exit code", std::to_string(r.exit_code));
  row(out, "command", r.command.empty() ? "(none)" : joined(r.command, " "));
  if (!r.policy_path.empty()) {
    row(out, "policy", r.policy_path + (r.policy_sha256.empty() ? "" : " (sha256 " + r.policy_sha256.substr(0, 16) + "...)"));
  }
  std::string target = "never started";
  if (r.target_exit_code) target = "exited with code " + std::to_string(*r.target_exit_code);
  if (r.signal) target = "killed by " + signal_name(*r.signal) + (r.core_dumped ? " (core dumped)" : "");
  row(out, "target", target);
  if (r.cancelled) row(out, "cancelled", "by " + *r.cancelled + " sent to confine");
  row(out, "times", "wall " + seconds_text(r.wall_time_us) + ", CPU " + seconds_text(r.cpu_user_us) + " user + " +
                        seconds_text(r.cpu_system_us) + " system");
  row(out, "peaks", "memory " + (r.memory_peak_bytes ? bytes_text(*r.memory_peak_bytes) : std::string("not measured")) +
                        ", processes " + (r.pids_peak ? std::to_string(*r.pids_peak) : std::string("not measured")));
  row(out, "limits hit", r.limits_hit.empty() ? "none" : joined(r.limits_hit, ", "));
  if (r.output) {
    row(out, "output", bytes_text(r.output->stdout_bytes) + " to stdout, " + bytes_text(r.output->stderr_bytes) +
                           " to stderr, " + bytes_text(r.output->dropped_bytes) + " dropped; " +
                           (r.output->limit_bytes ? "limit " + bytes_text(*r.output->limit_bytes) : std::string("no limit")));
  }
  if (r.output_area) {
    const auto& a = *r.output_area;
    row(out, "output area", a.path + " -> " + a.host + ": " + std::to_string(a.files_copied) + " file" +
                                (a.files_copied == 1 ? "" : "s") + " (" + bytes_text(a.bytes_copied) + ") copied, " +
                                std::to_string(a.refused.size()) + " refused");
  }
  std::vector<std::string> enforced;
  std::vector<std::string> not_asked;
  for (const auto& p : r.enforced) {
    if (p.status == "enforced") enforced.push_back(p.name);
    if (p.status == "not_requested") not_asked.push_back(p.name);
  }
  if (!enforced.empty()) row(out, "enforced", joined(enforced, ", "));
  for (const auto& p : r.enforced) {
    if (p.status == "enforced_fallback") row(out, "weaker", p.name + ": " + p.mechanism + ": " + p.detail);
  }
  for (const auto& p : r.enforced) {
    if (p.status == "best_effort_skipped") row(out, "NOT enforced", p.name + ": " + p.detail);
  }
  for (const auto& p : r.enforced) {
    if (p.status == "disabled_by_policy") row(out, "off by policy", p.name + (p.detail.empty() ? "" : ": " + p.detail));
  }
  if (!not_asked.empty()) row(out, "not asked for", joined(not_asked, ", "));
  if (r.setup_error) {
    row(out, "setup error", r.setup_error->step + ": " + r.setup_error->message.substr(0, r.setup_error->message.find('\n')));
  }
  if (r.exec_error) {
    row(out, "exec error", r.exec_error->path + ": " + exec_errno_phrase(r.exec_error->sys_errno) +
                               (r.exec_error->sys_errno ? " (errno " + std::to_string(r.exec_error->sys_errno) + ")" : ""));
  }
  for (const auto& w : r.warnings) row(out, "warning", w);
  uint64_t setup_us = 0;
  std::vector<std::string> phases;
  for (const auto& p : r.phases) {
    if (p.name == "run" || p.name == "sandbox_exit" || p.name == "teardown") continue;
    setup_us += p.duration_us;
    phases.push_back(p.name + " " + seconds_text(p.duration_us));
  }
  if (!phases.empty()) row(out, "setup", seconds_text(setup_us) + " (" + joined(phases, ", ") + ")");
  return out;
}

}  // namespace confine::report
