// `confine learn`: run the command once under a base policy's isolation with the learning
// filter, then write a policy from what it did (learn::write_policy). The run itself is
// run_command's: the same policy loading, plan, launch and report.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "commands.h"
#include "confine/learn.h"
#include "confine/report.h"
#include "log.h"

namespace confine::cli {

int learn_command(const LearnArgs& args) {
  // Earlier learned policies first: a bad --merge file is found before anything runs.
  std::vector<learn::Observations> earlier;
  for (const std::string& file : args.merge) {
    std::ifstream in(file);
    if (!in) {
      error("learn: cannot read --merge " + file + ": " + std::strerror(errno));
      return report::kExitConfineFailed;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto seen = learn::from_policy_text(text.str());
    if (!seen) {
      error("learn: --merge " + file + ": " + seen.error().render());
      return report::kExitConfineFailed;
    }
    earlier.push_back(std::move(*seen));
  }

  RunArgs run;
  run.policy_path = args.base.empty() ? "learn-base" : args.base;
  run.overrides.rw = args.rw;
  run.overrides.ro = args.ro;
  if (args.cwd) run.overrides.cwd = *args.cwd;
  run.report_file = args.report_file;
  run.command = args.command;
  run.learn = true;
  learn::Observations seen;
  report::Report result;
  run.learned = &seen;
  run.final_report = &result;
  const int code = run_command(run);

  const bool ok = result.outcome == report::Outcome::kOk;
  if (!ok && !args.allow_failure) {
    error(std::string("learn: the job did not succeed (outcome ") + report::to_string(result.outcome) +
          "): no policy written, since it would describe a failed run; --allow-failure writes one anyway");
    return code != 0 ? code : 1;
  }
  if (result.outcome == report::Outcome::kSetupError) return code != 0 ? code : report::kExitConfineFailed;

  seen.command = args.command;
  seen.outcome = report::to_string(result.outcome);
  seen.base_policy = result.policy_path;
  seen.memory_peak_bytes = result.memory_peak_bytes;
  seen.pids_peak = result.pids_peak;
  seen.wall_time_us = result.wall_time_us;
  seen.cpu_time_us = result.cpu_user_us + result.cpu_system_us;
  if (result.output) seen.output_bytes = result.output->stdout_bytes + result.output->stderr_bytes + result.output->dropped_bytes;
  for (const auto& e : earlier) learn::merge(seen, e);

  learn::WriteOptions options;
  for (const auto& d : args.rw) options.rw.push_back(d);
  options.cwd = args.cwd;
  options.generated_by = "confine learn";
  for (const auto& m : args.merge) options.generated_by += " --merge " + m;
  for (const auto& d : args.rw) options.generated_by += " --rw " + d;
  const learn::Written written = learn::write_policy(seen, options);
  for (const auto& note : written.notes) warning("learn: " + note);

  if (!args.out || *args.out == "-") {
    std::cout << written.toml << std::flush;
  } else {
    std::ofstream out(*args.out, std::ios::trunc);
    out << written.toml;
    out.close();
    if (!out) {
      error("learn: cannot write " + *args.out + ": " + std::strerror(errno));
      return report::kExitConfineFailed;
    }
    say("learn: wrote " + *args.out + " (check it with 'confine check " + *args.out + "')");
  }
  return ok ? 0 : code;
}

}  // namespace confine::cli
