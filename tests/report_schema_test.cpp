// The writer and the published schema agree: reports for every outcome, as emitted by
// to_json_text, validate against docs/report.schema.json, and documents that break the
// contract do not. Validation runs Debian's python3-jsonschema through
// scripts/validate-report.py, spawned without a shell.
//
// Needs python3-jsonschema (Debian package). Set CONFINE_TEST_PYTHON3 to use another
// interpreter; the default is /usr/bin/python3 because that is where the Debian package lands.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "confine/reap.h"
#include "confine/report.h"

extern char** environ;

namespace confine::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

const fs::path kSchema = fs::path(CONFINE_SOURCE_DIR) / "docs" / "report.schema.json";
const fs::path kValidator = fs::path(CONFINE_SOURCE_DIR) / "scripts" / "validate-report.py";
const fs::path kReportDoc = fs::path(CONFINE_SOURCE_DIR) / "docs" / "report.md";

std::string python3() {
  const char* configured = std::getenv("CONFINE_TEST_PYTHON3");
  return configured != nullptr && *configured != '\0' ? configured : "/usr/bin/python3";
}

// Empty when the file cannot be read; callers assert on content, so that still fails loudly.
std::string read_file(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) {
    return {};
  }
  std::string text(size, '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// A private directory removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "confine-report-test.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] fs::path write(const std::string& name, const std::string& text) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct RunResult {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string output;  // stdout and stderr together
};

// python3 validate-report.py SCHEMA FILE...: argv vector straight to posix_spawn, no shell.
RunResult run_validator(const TempDir& dir, const std::vector<fs::path>& files) {
  std::vector<std::string> args = {python3(), kValidator.string(), kSchema.string()};
  for (const fs::path& file : files) {
    args.push_back(file.string());
  }
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  const std::string log = (dir.path() / "validator.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int spawn_error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  RunResult result;
  if (spawn_error != 0) {
    result.output = "posix_spawn " + args[0] + ": " + std::strerror(spawn_error);
    return result;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.output = read_file(log);
  return result;
}

// A report as main would assemble it: classify the facts, then fill what the run measured.
Report report_for(const reap::ReapFacts& facts) {
  const reap::Classification verdict = reap::classify(facts);
  Report r;
  r.confine_version = "0.1.0";
  r.outcome = verdict.outcome;
  r.exit_code = verdict.exit_code;
  r.limits_hit = verdict.limits_hit;
  r.target_exit_code = facts.exit_code;
  r.signal = facts.term_signal;
  r.core_dumped = facts.core_dumped;
  r.counters.oom_kills = facts.oom_kills;
  r.counters.oom_group_kills = facts.oom_group_kills;
  r.counters.pids_max_hits = facts.pids_max_hits;
  r.wall_time_us = 250'000;
  r.cpu_user_us = 1'000;
  r.memory_peak_bytes = 4'096;
  r.enforced = {{"memory_limit", "enforced", "cgroup v2 memory.max", "64 MiB"},
                {"network_namespace", "disabled_by_policy", "", "network = \"host\""},
                {"landlock", "best_effort_skipped", "landlock", "kernel has no landlock"}};
  r.command = {"/usr/bin/make", "-j4"};
  r.policy_path = "/etc/confine/build.toml";
  r.policy_sha256 = std::string(64, 'a');
  r.phases = {{"policy", 300}, {"plan", 40}, {"run", 249'000}};
  if (facts.setup_failed || verdict.outcome == Outcome::kSetupError) {
    r.setup_error = SetupFailure{"bind[3]", "/data", EPERM, "mount_setattr: not permitted"};
  }
  if (facts.exec_errno.has_value()) {
    r.exec_error = ExecFailure{"/usr/bin/make", *facts.exec_errno, "/usr/bin/make: not found in the sandbox"};
  }
  // What launch::run and the CLI do for a target that never ran (docs/report.md, "times").
  if (verdict.outcome == Outcome::kSetupError || verdict.outcome == Outcome::kExecError) mark_never_started(r);
  if (facts.seccomp_notified) {
    r.seccomp_violation = SeccompViolation{"ptrace", 101, "x86_64"};
  }
  return r;
}

// Designated initializers leave the facts' std::optional members empty on purpose; GCC 12 warns
// about members without a default member initializer even so.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
std::vector<std::pair<std::string, Report>> every_outcome() {
  std::vector<std::pair<std::string, Report>> reports = {
      {"ok", report_for({.exit_code = 0})},
      {"exit_nonzero", report_for({.exit_code = 2})},
      {"signaled", report_for({.term_signal = SIGSEGV, .core_dumped = true})},
      {"oom", report_for({.term_signal = SIGKILL, .oom_group_kills = 1, .pids_max_hits = 2})},
      {"wall_timeout", report_for({.term_signal = SIGKILL, .wall_timeout = true})},
      {"cpu_timeout", report_for({.term_signal = SIGXCPU, .cpu_timeout = true})},
      {"seccomp_notified", report_for({.term_signal = SIGKILL, .seccomp_notified = true})},
      {"seccomp_sigsys", report_for({.term_signal = SIGSYS})},
      {"file_size_limit", report_for({.term_signal = SIGXFSZ})},
      {"setup_error", report_for({.setup_failed = true})},
      {"exec_enoent", report_for({.exec_errno = ENOENT})},
      {"exec_eacces", report_for({.exec_errno = EACCES})},
      {"nothing_known", report_for({})},
      {"realtime_signal", report_for({.term_signal = 40})},
  };
  // A run cancelled by SIGTERM whose job did not end within its kill grace.
  Report cancelled = report_for({.term_signal = SIGKILL});
  cancelled.cancelled = "SIGTERM";
  reports.emplace_back("cancelled", cancelled);
  // The barest document confine writes: it failed before reading a policy.
  Report bare;
  bare.confine_version = "0.1.0";
  bare.setup_error = SetupFailure{"command_line", "", 0, "missing command after --"};
  reports.emplace_back("bare_setup_error", bare);
  return reports;
}

TEST(ReportSchema, EveryOutcomeValidates) {
  TempDir dir;
  std::vector<fs::path> files;
  std::set<std::string> outcomes;
  for (const auto& [name, report] : every_outcome()) {
    outcomes.insert(to_string(report.outcome));
    files.push_back(dir.write(name + ".json", to_json_text(report)));
    files.push_back(dir.write(name + ".pretty.json", to_json_text(report, true)));
  }
  ASSERT_EQ(outcomes.size(), 10U) << "every outcome must be validated";
  const RunResult result = run_validator(dir, files);
  EXPECT_EQ(result.exit_code, 0) << result.output
                                 << "\n(needs Debian's python3-jsonschema: apt-get install "
                                    "python3-jsonschema, or set CONFINE_TEST_PYTHON3)";
}

// Each mutation breaks one rule of the contract; the validator must reject every one.
struct Breakage {
  const char* name;
  std::function<void(ordered_json&)> apply;
};

const std::vector<Breakage>& breakages() {
  static const std::vector<Breakage> kBreakages = {
      {"missing_required_key", [](ordered_json& d) { d.erase("warnings"); }},
      {"null_omitted_instead", [](ordered_json& d) { d.erase("exec_error"); }},
      {"unknown_top_level_key", [](ordered_json& d) { d["extra"] = 1; }},
      {"unknown_nested_key", [](ordered_json& d) { d["target"]["pid"] = 12; }},
      {"unknown_outcome", [](ordered_json& d) { d["outcome"] = "crashed"; }},
      {"future_report_version", [](ordered_json& d) { d["report_version"] = 2; }},
      {"negative_exit_code", [](ordered_json& d) { d["exit_code"] = -1; }},
      {"exit_code_too_large", [](ordered_json& d) { d["exit_code"] = 256; }},
      {"negative_time", [](ordered_json& d) { d["times"]["wall_us"] = -5; }},
      {"fractional_time", [](ordered_json& d) { d["times"]["cpu_user_us"] = 1.5; }},
      {"string_for_number",
       [](ordered_json& d) { d["resources"]["memory_peak_bytes"] = "4096"; }},
      {"unknown_status", [](ordered_json& d) { d["enforced"][0]["status"] = "maybe"; }},
      {"unknown_limit", [](ordered_json& d) { d["limits_hit"] = {"disk"}; }},
      {"duplicate_limit", [](ordered_json& d) { d["limits_hit"] = {"pids", "pids"}; }},
      {"ok_with_nonzero_exit", [](ordered_json& d) { d["exit_code"] = 1; }},
      {"exited_and_signaled", [](ordered_json& d) { d["target"]["signal"] = 9; }},
      {"bad_sha256", [](ordered_json& d) { d["policy"]["sha256"] = "xyz"; }},
      {"exec_error_without_detail",
       [](ordered_json& d) {
         d["outcome"] = "exec_error";
         d["exit_code"] = 127;
       }},
      {"setup_error_without_detail",
       [](ordered_json& d) {
         d["outcome"] = "setup_error";
         d["exit_code"] = 125;
       }},
      {"stray_exec_error",
       [](ordered_json& d) {
         d["exec_error"] = {{"path", "/bin/x"}, {"errno", 2}, {"errno_name", "ENOENT"}};
       }},
      {"stray_setup_error",
       [](ordered_json& d) {
         d["setup_error"] = {{"step", "plan"}, {"path", nullptr}, {"errno", nullptr},
                             {"errno_name", nullptr}, {"message", "x"}};
       }},
      {"errno_name_without_errno",
       [](ordered_json& d) {
         d["outcome"] = "setup_error";
         d["exit_code"] = 125;
         d["setup_error"] = {{"step", "plan"}, {"path", nullptr}, {"errno", nullptr},
                             {"errno_name", "EPERM"}, {"message", "x"}};
       }},
      {"signal_without_name",
       [](ordered_json& d) {
         d["target"]["exit_code"] = nullptr;
         d["target"]["signal"] = 15;
       }},
      {"core_without_signal", [](ordered_json& d) { d["target"]["core_dumped"] = true; }},
      {"cancelled_not_a_signal", [](ordered_json& d) { d["cancelled"] = "soon"; }},
      {"exec_error_message_not_text",
       [](ordered_json& d) {
         d["outcome"] = "exec_error";
         d["exit_code"] = 127;
         d["target"]["exit_code"] = nullptr;
         d["times"] = {{"wall_us", 0}, {"cpu_user_us", 0}, {"cpu_system_us", 0}};
         d["exec_error"] = {{"path", "/bin/x"}, {"errno", 2}, {"errno_name", "ENOENT"}, {"message", 2}};
       }},
      {"never_started_with_an_exit_code",
       [](ordered_json& d) {
         d["outcome"] = "exec_error";
         d["exit_code"] = 127;
         d["times"] = {{"wall_us", 0}, {"cpu_user_us", 0}, {"cpu_system_us", 0}};
         d["exec_error"] = {{"path", "/bin/x"}, {"errno", 2}, {"errno_name", "ENOENT"}};
       }},
      {"never_started_with_times",
       [](ordered_json& d) {
         d["outcome"] = "setup_error";
         d["exit_code"] = 125;
         d["target"]["exit_code"] = nullptr;
         d["setup_error"] = {{"step", "plan"}, {"path", nullptr}, {"errno", nullptr},
                             {"errno_name", nullptr}, {"message", "x"}};
       }},
      {"timeout_with_wrong_code",
       [](ordered_json& d) {
         d["outcome"] = "wall_timeout";
         d["limits_hit"] = {"wall_time"};
         d["exit_code"] = 137;
       }},
  };
  return kBreakages;
}

TEST(ReportSchema, BrokenDocumentsAreRejected) {
  TempDir dir;
  const ordered_json valid = ordered_json::parse(to_json_text(report_for({.exit_code = 0})));

  // The untouched base document passes, so each rejection below is due to its one mutation.
  const RunResult base = run_validator(dir, {dir.write("base.json", valid.dump())});
  ASSERT_EQ(base.exit_code, 0) << base.output;

  // One validator run for all of them (starting Python is the slow part). The validator names
  // every file that fails, so each broken document must appear in its output.
  std::vector<fs::path> files;
  for (const Breakage& breakage : breakages()) {
    ordered_json broken = valid;
    breakage.apply(broken);
    files.push_back(dir.write(std::string(breakage.name) + ".json", broken.dump()));
  }
  const RunResult result = run_validator(dir, files);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_NE(result.output.find(files[i].string() + ": "), std::string::npos)
        << breakages()[i].name << " was accepted; validator said:\n" << result.output;
  }
}

#pragma GCC diagnostic pop

TEST(ReportSchema, NotJsonIsRejected) {
  TempDir dir;
  const RunResult truncated = run_validator(dir, {dir.write("cut.json", R"({"report_version":1,)")});
  EXPECT_EQ(truncated.exit_code, 1) << truncated.output;
  const RunResult nan = run_validator(dir, {dir.write("nan.json", R"({"exit_code":NaN})")});
  EXPECT_EQ(nan.exit_code, 1) << nan.output;
  // A missing file is a usage error (2), not an invalid report (1).
  const RunResult missing = run_validator(dir, {dir.path() / "absent.json"});
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
}

// The example in docs/report.md is a valid report, so the documentation cannot drift from the
// schema unnoticed.
TEST(ReportSchema, DocumentedExampleValidates) {
  const std::string doc = read_file(kReportDoc);
  const std::string open = "```json\n";
  const size_t start = doc.find(open);
  ASSERT_NE(start, std::string::npos) << "docs/report.md has no ```json example";
  const size_t end = doc.find("```", start + open.size());
  ASSERT_NE(end, std::string::npos);
  TempDir dir;
  const fs::path example =
      dir.write("example.json", doc.substr(start + open.size(), end - start - open.size()));
  const RunResult result = run_validator(dir, {example});
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

// The schema's outcome enum is exactly the set of names the writer can emit.
TEST(ReportSchema, OutcomeEnumMatchesWriter) {
  const ordered_json schema = ordered_json::parse(read_file(kSchema));
  std::set<std::string> in_schema;
  for (const auto& name : schema["properties"]["outcome"]["enum"]) {
    in_schema.insert(name.get<std::string>());
  }
  std::set<std::string> in_writer;
  for (Outcome outcome :
       {Outcome::kOk, Outcome::kExitNonzero, Outcome::kSignaled, Outcome::kOom,
        Outcome::kWallTimeout, Outcome::kCpuTimeout, Outcome::kSeccompViolation,
        Outcome::kFileSizeLimit, Outcome::kOutputLimit, Outcome::kSetupError, Outcome::kExecError}) {
    in_writer.insert(to_string(outcome));
  }
  EXPECT_EQ(in_schema, in_writer);
}

void collect_property_names(const ordered_json& node, std::set<std::string>& names) {
  if (node.is_object()) {
    if (node.contains("properties") && node["properties"].is_object()) {
      for (const auto& item : node["properties"].items()) {
        names.insert(item.key());
      }
    }
    for (const auto& item : node.items()) {
      collect_property_names(item.value(), names);
    }
  } else if (node.is_array()) {
    for (const auto& item : node) {
      collect_property_names(item, names);
    }
  }
}

// docs/report.md documents every field the schema allows, and every outcome.
TEST(ReportSchema, EveryFieldIsDocumented) {
  const std::string doc = read_file(kReportDoc);
  ASSERT_FALSE(doc.empty()) << kReportDoc;
  std::set<std::string> names;
  // Held in a variable: a range-for over a member of a temporary would iterate freed memory
  // (the temporary dies before the loop body; AddressSanitizer caught it).
  const ordered_json schema = ordered_json::parse(read_file(kSchema));
  collect_property_names(schema, names);
  ASSERT_GT(names.size(), 30U);
  for (const std::string& name : names) {
    EXPECT_NE(doc.find("`" + name + "`"), std::string::npos) << name << " is not in report.md";
  }
  for (const auto& outcome : schema["properties"]["outcome"]["enum"]) {
    EXPECT_NE(doc.find("`" + outcome.get<std::string>() + "`"), std::string::npos) << outcome;
  }
}

}  // namespace
}  // namespace confine::report
