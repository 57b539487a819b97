// `confine learn`: run the command once under a base policy's isolation with the learning
// filter, then write a policy from what it did (learn::write_policy). The run itself is
// run_command's: the same policy loading, plan, launch and report.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "commands.h"
#include "confine/learn.h"
#include "confine/policy.h"
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
  run.overrides.output = args.output;
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
  // The job's own directories are per job, given on the command line of every run: the --rw
  // directories, the working directory when it is one of the --ro or --rw ones (a job's input
  // dir), and the output area. What the job did there is dropped here, before the observations
  // are written into the policy's learn-data, so a later --merge of a run on another job's
  // directory does not turn this job's files into ro paths of the policy.
  std::vector<std::string> per_job(args.rw.begin(), args.rw.end());
  const bool cwd_is_job = args.cwd && (std::find(args.ro.begin(), args.ro.end(), *args.cwd) != args.ro.end() ||
                                       std::find(args.rw.begin(), args.rw.end(), *args.cwd) != args.rw.end());
  if (cwd_is_job) per_job.push_back(*args.cwd);
  if (result.output_area) per_job.push_back(result.output_area->path);
  std::erase_if(seen.paths, [&](const learn::PathRecord& record) {
    return std::any_of(per_job.begin(), per_job.end(),
                       [&](const std::string& dir) { return learn::under(record.path, dir); });
  });
  for (const auto& e : earlier) learn::merge(seen, e);

  learn::WriteOptions options;
  for (const auto& d : args.rw) options.rw.push_back(d);
  // A job's working directory is given on the command line with the job (--cwd), not in the policy.
  if (!cwd_is_job) options.cwd = args.cwd;
  options.generated_by = "confine learn";
  for (const auto& m : args.merge) options.generated_by += " --merge " + m;
  for (const auto& d : args.rw) options.generated_by += " --rw " + d;
  for (const auto& d : args.ro) options.generated_by += " --ro " + d;
  if (args.cwd) options.generated_by += " --cwd " + *args.cwd;
  if (args.output) options.generated_by += " --output " + *args.output;
  // The size of each directory the job used files of, on the host (the learning base binds the
  // host's paths where it shows them), so the writer does not widen a few files to a big directory.
  for (const auto& record : seen.paths) {
    std::string dir = record.directory ? record.path : record.path.substr(0, record.path.rfind('/'));
    if (dir.empty() || options.directory_entries.count(dir) != 0) continue;
    std::error_code ec;
    size_t entries = 0;
    for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      ++entries;
    }
    if (!ec) options.directory_entries[dir] = entries;
  }
  const learn::Written written = learn::write_policy(seen, options);
  for (const auto& note : written.notes) warning("learn: " + note);
  // A policy the loader would refuse unread is no use to anyone: say so instead of writing it.
  if (const uint64_t limit = policy::LoadOptions{}.max_file_bytes; written.toml.size() > limit) {
    error("learn: the policy would be " + std::to_string(written.toml.size()) + " bytes, over the " +
          std::to_string(limit) + " bytes a policy may have; nothing written (learn from fewer runs per --merge chain)");
    return report::kExitConfineFailed;
  }

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
