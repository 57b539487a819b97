// The JSON writer: every field lands where docs/report.md says, unmeasured facts are null (not
// 0, not absent), key order is fixed, and no input can make the writer throw.
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "confine/report.h"

namespace confine::report {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kSha = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";

Report full_report() {
  Report r;
  r.confine_version = "0.1.0";
  r.outcome = Outcome::kSeccompViolation;
  r.exit_code = 159;
  r.signal = SIGSYS;
  r.core_dumped = true;
  r.wall_time_us = 1'500'000;
  r.cpu_user_us = 700'001;
  r.cpu_system_us = 20'002;
  r.memory_peak_bytes = 52'428'800;
  r.pids_peak = 7;
  r.limits_hit = {"pids"};
  r.output = OutputStats{.stdout_bytes = 10, .stderr_bytes = 20, .dropped_bytes = 30, .limit_bytes = 40};
  r.counters = Counters{.oom_kills = 1, .oom_group_kills = 2, .pids_max_hits = 3,
                        .cpu_throttled_us = 4};
  r.enforced = {{"seccomp", "enforced", "seccomp-bpf", "default kill, 312 rules"},
                {"network_namespace", "best_effort_skipped", "CLONE_NEWNET", "no userns"}};
  r.command = {"/usr/bin/python3", "-c", "print(\"hi\")\n"};
  r.policy_path = "/etc/confine/build.toml";
  r.policy_sha256 = kSha;
  r.setup_error = SetupFailure{"bind[3]", "/data", EPERM, "mount_setattr failed"};
  r.exec_error = ExecFailure{"/usr/bin/python3", EACCES, "/usr/bin/python3: permission denied"};
  r.cancelled = "SIGTERM";
  r.seccomp_violation = SeccompViolation{"ptrace", 101, "x86_64"};
  r.phases = {{"policy", 120}, {"run", 1'400'000}};
  r.warnings = {"memory_peak from memory.peak is rounded to pages"};
  return r;
}

TEST(ReportJson, FullReportRoundTrip) {
  const json doc = json::parse(to_json_text(full_report()));
  EXPECT_EQ(doc["report_version"], 1);
  EXPECT_EQ(doc["confine_version"], "0.1.0");
  EXPECT_EQ(doc["outcome"], "seccomp_violation");
  EXPECT_EQ(doc["exit_code"], 159);

  EXPECT_TRUE(doc["target"]["exit_code"].is_null());
  EXPECT_EQ(doc["target"]["signal"], SIGSYS);
  EXPECT_EQ(doc["target"]["signal_name"], "SIGSYS");
  EXPECT_EQ(doc["target"]["core_dumped"], true);

  EXPECT_EQ(doc["times"]["wall_us"], 1'500'000);
  EXPECT_EQ(doc["times"]["cpu_user_us"], 700'001);
  EXPECT_EQ(doc["times"]["cpu_system_us"], 20'002);

  EXPECT_EQ(doc["resources"]["memory_peak_bytes"], 52'428'800);
  EXPECT_EQ(doc["resources"]["pids_peak"], 7);
  EXPECT_EQ(doc["resources"]["counters"],
            json::parse(R"({"oom_kills":1,"oom_group_kills":2,"pids_max_hits":3,
                            "cpu_throttled_us":4})"));

  EXPECT_EQ(doc["limits_hit"], json::array({"pids"}));
  ASSERT_EQ(doc["enforced"].size(), 2U);
  EXPECT_EQ(doc["enforced"][0], json::parse(R"({"name":"seccomp","status":"enforced",
      "mechanism":"seccomp-bpf","detail":"default kill, 312 rules"})"));
  EXPECT_EQ(doc["enforced"][1]["status"], "best_effort_skipped");
  EXPECT_EQ(doc["command"], json::array({"/usr/bin/python3", "-c", "print(\"hi\")\n"}));
  EXPECT_EQ(doc["policy"]["path"], "/etc/confine/build.toml");
  EXPECT_EQ(doc["policy"]["sha256"], kSha);

  EXPECT_EQ(doc["setup_error"], json::parse(R"({"step":"bind[3]","path":"/data","errno":1,
      "errno_name":"EPERM","message":"mount_setattr failed"})"));
  EXPECT_EQ(doc["exec_error"],
            json::parse(R"({"path":"/usr/bin/python3","errno":13,"errno_name":"EACCES",
                            "message":"/usr/bin/python3: permission denied"})"));
  EXPECT_EQ(doc["seccomp_violation"],
            json::parse(R"({"syscall":"ptrace","nr":101,"arch":"x86_64"})"));
  EXPECT_EQ(doc["phases"], json::parse(R"([{"name":"policy","duration_us":120},
                                           {"name":"run","duration_us":1400000}])"));
  EXPECT_EQ(doc["warnings"], json::array({"memory_peak from memory.peak is rounded to pages"}));
  EXPECT_EQ(doc["output"], json::parse(R"({"stdout_bytes":10,"stderr_bytes":20,"dropped_bytes":30,"limit_bytes":40})"));
  EXPECT_EQ(doc["cancelled"], "SIGTERM");
  EXPECT_EQ(doc.size(), 21U) << "a top-level key was added or lost: update docs and schema";
}

TEST(ReportJson, MinimalReportWritesNullForWhatWasNotMeasured) {
  Report r;  // what confine knows when it fails before doing anything
  const json doc = json::parse(to_json_text(r));
  EXPECT_EQ(doc["outcome"], "setup_error");
  EXPECT_EQ(doc["exit_code"], 125);
  for (const char* pointer :
       {"/target/exit_code", "/target/signal", "/target/signal_name",
        "/resources/memory_peak_bytes", "/resources/pids_peak", "/policy/path", "/policy/sha256",
        "/setup_error", "/exec_error", "/seccomp_violation", "/output", "/cancelled"}) {
    const json::json_pointer where(pointer);
    ASSERT_TRUE(doc.contains(where)) << pointer << " must be present (as null), not omitted";
    EXPECT_TRUE(doc.at(where).is_null()) << pointer;
  }
  for (const char* list : {"limits_hit", "enforced", "command", "phases", "warnings"}) {
    EXPECT_TRUE(doc[list].is_array()) << list << " is an empty array, never null";
    EXPECT_TRUE(doc[list].empty()) << list;
  }
  EXPECT_EQ(doc["target"]["core_dumped"], false);
  EXPECT_EQ(doc["resources"]["counters"]["oom_kills"], 0);
}

TEST(ReportJson, MeasuredZeroIsZeroNotNull) {
  Report r;
  r.outcome = Outcome::kOk;
  r.exit_code = 0;
  r.target_exit_code = 0;
  r.memory_peak_bytes = 0;
  r.pids_peak = 0;
  const json doc = json::parse(to_json_text(r));
  EXPECT_TRUE(doc["target"]["exit_code"].is_number_integer());
  EXPECT_EQ(doc["target"]["exit_code"], 0);
  EXPECT_TRUE(doc["target"]["signal"].is_null());
  EXPECT_TRUE(doc["resources"]["memory_peak_bytes"].is_number_integer());
  EXPECT_EQ(doc["resources"]["memory_peak_bytes"], 0);
  EXPECT_TRUE(doc["resources"]["pids_peak"].is_number_integer());
  EXPECT_EQ(doc["resources"]["pids_peak"], 0);
}

std::vector<std::string> keys_of(const ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) {
    keys.push_back(item.key());
  }
  return keys;
}

using Keys = std::vector<std::string>;

TEST(ReportJson, KeyOrderIsStable) {
  const ordered_json doc = ordered_json::parse(to_json_text(full_report()));
  EXPECT_EQ(keys_of(doc),
            (Keys{"report_version", "confine_version", "outcome", "exit_code", "target", "times",
                  "resources", "limits_hit", "output", "output_area", "cancelled", "enforced", "command", "policy",
                  "setup_error", "exec_error", "seccomp_violation", "denials", "audit", "phases", "warnings"}));
  EXPECT_EQ(keys_of(doc["target"]), (Keys{"exit_code", "signal", "signal_name", "core_dumped"}));
  EXPECT_EQ(keys_of(doc["times"]), (Keys{"wall_us", "cpu_user_us", "cpu_system_us"}));
  EXPECT_EQ(keys_of(doc["resources"]), (Keys{"memory_peak_bytes", "pids_peak", "counters"}));
  EXPECT_EQ(keys_of(doc["resources"]["counters"]),
            (Keys{"oom_kills", "oom_group_kills", "pids_max_hits", "cpu_throttled_us"}));
  EXPECT_EQ(keys_of(doc["enforced"][0]), (Keys{"name", "status", "mechanism", "detail"}));
  EXPECT_EQ(keys_of(doc["policy"]), (Keys{"path", "sha256"}));
  EXPECT_EQ(keys_of(doc["setup_error"]), (Keys{"step", "path", "errno", "errno_name", "message"}));
  EXPECT_EQ(keys_of(doc["exec_error"]), (Keys{"path", "errno", "errno_name", "message"}));
  EXPECT_EQ(keys_of(doc["seccomp_violation"]), (Keys{"syscall", "nr", "arch"}));
  EXPECT_EQ(keys_of(doc["phases"][0]), (Keys{"name", "duration_us"}));

  // The text itself, not just the parsed order: equal reports give byte-identical documents.
  EXPECT_EQ(to_json_text(full_report()), to_json_text(full_report()));
  const std::string text = to_json_text(Report{});
  EXPECT_EQ(text.rfind(R"({"report_version":1,"confine_version":"","outcome":"setup_error",)", 0),
            0U)
      << text;
}

TEST(ReportJson, PrettyAndCompactAreTheSameDocument) {
  const std::string compact = to_json_text(full_report(), false);
  const std::string pretty = to_json_text(full_report(), true);
  EXPECT_EQ(compact.find('\n'), std::string::npos);
  EXPECT_NE(pretty.find("\n  \"outcome\": \"seccomp_violation\""), std::string::npos) << pretty;
  EXPECT_EQ(ordered_json::parse(compact), ordered_json::parse(pretty));
}

// The compact text is written member by member, with the "enforced" list's text kept from the
// last report that had the same list: byte for byte what the library writes for the document,
// and never another report's list.
TEST(ReportJson, CompactTextIsTheLibrarysAndTheEnforcedListIsThisReports) {
  Report a = full_report();
  EXPECT_EQ(to_json_text(a), ordered_json::parse(to_json_text(a, true)).dump());
  Report b = a;
  b.enforced.push_back(Protection{"extra", "enforced", "a mechanism", "only in b"});
  b.enforced.front().detail = "changed";
  for (const Report* r : {&a, &b, &a, &b}) {
    const ordered_json doc = ordered_json::parse(to_json_text(*r));
    ASSERT_EQ(doc["enforced"].size(), r->enforced.size());
    EXPECT_EQ(doc["enforced"][0]["detail"], r->enforced[0].detail);
    EXPECT_EQ(to_json_text(*r), ordered_json::parse(to_json_text(*r, true)).dump());
  }
}

TEST(ReportJson, ErrnoNamesAndUnknowns) {
  Report r;
  r.setup_error = SetupFailure{"policy", "", 0, "unknown key"};
  r.exec_error = ExecFailure{"/nope", ENOENT};
  r.seccomp_violation = SeccompViolation{"", -1, ""};
  json doc = json::parse(to_json_text(r));
  EXPECT_TRUE(doc["setup_error"]["path"].is_null()) << "no path involved";
  EXPECT_TRUE(doc["setup_error"]["errno"].is_null()) << "0 means no syscall failed";
  EXPECT_TRUE(doc["setup_error"]["errno_name"].is_null());
  EXPECT_EQ(doc["exec_error"]["errno"], ENOENT);
  EXPECT_EQ(doc["exec_error"]["errno_name"], "ENOENT");
  EXPECT_TRUE(doc["seccomp_violation"]["syscall"].is_null());
  EXPECT_TRUE(doc["seccomp_violation"]["nr"].is_null()) << "-1 means the number is unknown";
  EXPECT_TRUE(doc["seccomp_violation"]["arch"].is_null());

  r.exec_error = ExecFailure{"/x", 4000};  // no name in any libc: keep the number, name null
  doc = json::parse(to_json_text(r));
  EXPECT_EQ(doc["exec_error"]["errno"], 4000);
  EXPECT_TRUE(doc["exec_error"]["errno_name"].is_null());

  r.seccomp_violation = SeccompViolation{"syscall_0", 0, "x86_64"};  // nr 0 (read) is real
  doc = json::parse(to_json_text(r));
  EXPECT_EQ(doc["seccomp_violation"]["nr"], 0);
}

TEST(ReportJson, LargeCountersAreExact) {
  Report r;
  r.memory_peak_bytes = UINT64_MAX;
  r.counters.cpu_throttled_us = (uint64_t{1} << 63) + 5;
  const json doc = json::parse(to_json_text(r));
  EXPECT_EQ(doc["resources"]["memory_peak_bytes"].get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ(doc["resources"]["counters"]["cpu_throttled_us"].get<uint64_t>(),
            (uint64_t{1} << 63) + 5);
}

// argv and paths are bytes; a report must survive any of them (the writer must not throw at the
// one moment the user needs its output).
TEST(ReportJson, ArbitraryBytesNeverThrow) {
  Report r;
  r.command = {"/bin/echo", std::string("caf\xC3\xA9"), std::string("bad\xFF\xFE"),
               std::string("nul\0inside", 10), "tab\tquote\"backslash\\\x01"};
  r.warnings = {std::string("\xC3")};  // truncated UTF-8 sequence
  std::string text;
  ASSERT_NO_THROW(text = to_json_text(r));
  const json doc = json::parse(text);
  EXPECT_EQ(doc["command"][1], "caf\xC3\xA9") << "valid UTF-8 is kept as is";
  EXPECT_EQ(doc["command"][2], "bad\xEF\xBF\xBD\xEF\xBF\xBD") << "invalid bytes become U+FFFD";
  EXPECT_EQ(doc["command"][3], std::string("nul\0inside", 10));
  EXPECT_EQ(doc["command"][4], "tab\tquote\"backslash\\\x01");
  EXPECT_EQ(doc["warnings"][0], "\xEF\xBF\xBD");
}

TEST(ReportOutcome, NamesAreDistinctSnakeCase) {
  const Outcome all[] = {Outcome::kOk,          Outcome::kExitNonzero,      Outcome::kSignaled,
                         Outcome::kOom,         Outcome::kWallTimeout,      Outcome::kCpuTimeout,
                         Outcome::kSeccompViolation, Outcome::kFileSizeLimit,
                         Outcome::kSetupError,  Outcome::kExecError};
  const std::vector<std::string> expected = {
      "ok",          "exit_nonzero",      "signaled",        "oom",         "wall_timeout",
      "cpu_timeout", "seccomp_violation", "file_size_limit", "setup_error", "exec_error"};
  std::vector<std::string> got;
  for (Outcome outcome : all) {
    got.emplace_back(to_string(outcome));
  }
  EXPECT_EQ(got, expected);
}

TEST(ReportSignalName, StandardRealtimeAndUnknown) {
  const std::vector<std::pair<int, std::string>> cases = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGABRT, "SIGABRT"},
      {SIGKILL, "SIGKILL"}, {SIGSEGV, "SIGSEGV"}, {SIGPIPE, "SIGPIPE"},
      {SIGTERM, "SIGTERM"}, {SIGCHLD, "SIGCHLD"}, {SIGSTOP, "SIGSTOP"},
      {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
      {SIGPWR, "SIGPWR"},   {SIGWINCH, "SIGWINCH"},
      // Kernel numbering (32 = the kernel's SIGRTMIN), independent of the target's libc.
      {32, "SIGRTMIN"},     {33, "SIGRTMIN+1"},   {35, "SIGRTMIN+3"},
      {63, "SIGRTMIN+31"},  {64, "SIGRTMAX"},
      {0, "SIG0"},          {65, "SIG65"},        {-3, "SIG-3"},
  };
  for (const auto& [number, name] : cases) {
    EXPECT_EQ(signal_name(number), name) << "signal " << number;
  }
}

TEST(ReportSignalName, EveryStandardSignalHasARealName) {
  std::set<std::string> names;
  for (int number = 1; number < 32; ++number) {
    const std::string name = signal_name(number);
    EXPECT_NE(name, "SIG" + std::to_string(number)) << "signal " << number << " is unnamed";
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 31U) << "two numbers share a name";
}

}  // namespace
}  // namespace confine::report
