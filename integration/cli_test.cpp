// What a person (or a program) calling `confine run` sees besides the job's own output: one line
// for every run that does not end ok, confine's lines away from the job's with --log-fd and
// --log-file, --quiet, exec errors named by their cause, checks before the run, limits typed on
// the command line that are required, cancellation that escalates, the text report, and a
// command line without "--". The real binary, real namespaces (docs: README "Exit codes", issue 13).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "fixture.h"

namespace integ {
namespace {

using namespace std::chrono_literals;
using CliTest = SandboxTest;

// The lines confine wrote for itself ("confine: ..."), in order.
std::vector<std::string> confine_lines(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& line : lines(text)) {
    if (line.rfind("confine: ", 0) == 0) out.push_back(line);
  }
  return out;
}

// The confine lines that are not best-effort warnings (which depend on the host).
std::vector<std::string> said(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& line : confine_lines(text)) {
    if (line.rfind("confine: warning: ", 0) != 0) out.push_back(line);
  }
  return out;
}

using Lines = std::vector<std::string>;

// Waits (up to 20 s) for the probe to create `path`: `armed-sleep` does once its job runs.
bool appears(const std::string& path) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  return std::filesystem::exists(path);
}

TEST_F(CliTest, EveryRunThatDoesNotEndOkSaysWhatHappenedInOneLine) {
  const RunResult ok = run_probe({"exit", "0"});
  EXPECT_TRUE(ProbeOk(ok));
  EXPECT_EQ(said(ok.err), Lines{}) << ok.describe();

  const RunResult missing = run_command({"/no/such"});
  EXPECT_TRUE(Ended(missing, "exec_error", 127));
  EXPECT_EQ(said(missing.err), Lines{"confine: /no/such: not found in the sandbox"}) << missing.describe();

  const RunResult timeout = run_probe({"sleep", "30"}, with_args({"--timeout", "1s", "--kill-after", "0s"}));
  EXPECT_TRUE(EndedByLimit(timeout, "wall_timeout", 124, "wall_time"));
  EXPECT_EQ(said(timeout.err), Lines{"confine: wall time limit 1s reached; job killed"}) << timeout.describe();

  const RunResult seccomp = run_probe({"try-syscall", "bpf"});
  EXPECT_TRUE(KilledBySeccomp(seccomp, "bpf"));
  EXPECT_EQ(said(seccomp.err), Lines{"confine: job killed by seccomp: bpf (nr 321)"}) << seccomp.describe();

  // The job's own non-zero exit is its own story: silent by default, a line at --log-level info.
  const RunResult three = run_probe({"exit", "3"});
  EXPECT_TRUE(Ended(three, "exit_nonzero", 3));
  EXPECT_EQ(said(three.err), Lines{}) << three.describe();
  const RunResult told = run_probe({"exit", "3"}, with_args({"--log-level", "info"}));
  EXPECT_EQ(said(told.err), Lines{"confine: job exited with code 3"}) << told.describe();
}

TEST_F(CliTest, WarningsAreShortLinesAndTheDetailIsInTheReport) {
  const RunResult r = run_probe({"exit", "0"});
  ASSERT_TRUE(ProbeOk(r));
  ASSERT_TRUE(r.report);
  const auto& warnings = (*r.report)["warnings"];
  const Lines lines_on_stderr = confine_lines(r.err);
  ASSERT_EQ(lines_on_stderr.size(), warnings.size()) << r.describe();
  for (size_t i = 0; i < warnings.size(); ++i) {
    EXPECT_EQ(lines_on_stderr[i], "confine: warning: " + warnings[i].get<std::string>());
    EXPECT_LE(lines_on_stderr[i].size(), 150U) << "a log line, not a paragraph";
  }
  // The host's gaps are explained in full where a program reads them.
  for (const auto& p : (*r.report)["enforced"]) {
    if (p["status"] == "enforced_fallback") {
      EXPECT_NE(p["detail"].get<std::string>().find("Not covered"), std::string::npos);
    }
  }
}

TEST_F(CliTest, LogFdAndLogFileKeepConfinesLinesOutOfTheJobsStderr) {
  // --log-fd 1: confine's lines on its stdout, the job's stderr alone on stderr.
  const RunResult to_fd = run_probe({"write-bytes", "5", "stderr"}, with_args({"--log-fd", "1"}));
  ASSERT_TRUE(ProbeOk(to_fd));
  EXPECT_EQ(confine_lines(to_fd.err), Lines{}) << to_fd.describe();
  EXPECT_EQ(to_fd.err.size(), 5U) << to_fd.describe();

  const std::string log = base_ + "/confine.log";
  const RunResult to_file = run_command({"/no/such"}, with_args({"--log-file", log}));
  EXPECT_TRUE(Ended(to_file, "exec_error", 127));
  EXPECT_EQ(to_file.err, "") << to_file.describe();
  const auto text = read_text(log);
  ASSERT_TRUE(text);
  EXPECT_EQ(said(*text), Lines{"confine: /no/such: not found in the sandbox"}) << *text;

  const RunResult bad = run_probe({"exit", "0"}, with_args({"--log-fd", "77"}));
  EXPECT_EQ(bad.exit_code, 125) << bad.describe();
  EXPECT_EQ(bad.err, "confine: error: --log-fd 77 is not an open file descriptor\n");
}

TEST_F(CliTest, QuietKeepsOnlyConfinesOwnErrors) {
  const RunResult timeout = run_probe({"sleep", "30"}, with_args({"--quiet", "--timeout", "1s", "--kill-after", "0s"}));
  EXPECT_TRUE(EndedByLimit(timeout, "wall_timeout", 124, "wall_time"));
  EXPECT_EQ(confine_lines(timeout.err), Lines{}) << timeout.describe();
  const RunResult bad = run_probe({"exit", "0"}, with_args({"-q", "--ro", "relative/path"}));
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_EQ(confine_lines(bad.err), Lines{"confine: error: <command line>: --ro: path 'relative/path' is relative; paths inside the sandbox "
                                            "must be absolute (start with '/')"})
      << bad.describe();
}

// The report matches docs/report.md for a target that never started: no exit status, zero
// times, an absolute path, the phases that ran.
void expect_never_started(const RunResult& r) {
  ASSERT_TRUE(r.report) << r.describe();
  const auto& report = *r.report;
  EXPECT_TRUE(report["target"]["exit_code"].is_null()) << r.describe();
  EXPECT_TRUE(report["target"]["signal"].is_null());
  EXPECT_EQ(report["times"], nlohmann::json::parse(R"({"wall_us":0,"cpu_user_us":0,"cpu_system_us":0})"));
  const std::string path = report["exec_error"]["path"].get<std::string>();
  EXPECT_EQ(path.front(), '/') << path;
  ASSERT_GE(report["phases"].size(), 2U);
  EXPECT_EQ(report["phases"][0]["name"], "policy");
  EXPECT_EQ(report["phases"][1]["name"], "plan");
}

TEST_F(CliTest, ExecErrorsNameTheirCause) {
  // A script whose #! interpreter the sandbox does not have: ENOENT, for a file that is there.
  const std::string script = job_path("run.sh");
  write_text(script, "#!/opt/no-such-interpreter -x\nexit 0\n", 0755);
  const RunResult shebang = run_command({script});
  EXPECT_TRUE(Ended(shebang, "exec_error", 127));
  const std::string line = script + ": its interpreter /opt/no-such-interpreter (from its #! line) is not in the sandbox";
  EXPECT_EQ(said(shebang.err), Lines{"confine: " + line}) << shebang.describe();
  expect_never_started(shebang);
  EXPECT_EQ((*shebang.report)["exec_error"]["message"], line);
  EXPECT_EQ((*shebang.report)["exec_error"]["errno_name"], "ENOENT");

  // Masked by a deny rule: EACCES, and the rule is named.
  write_text(script, "#!/usr/bin/env true\n", 0755);
  const RunResult masked = run_command({script}, with_args({"--deny", "/usr/bin/env"}));
  EXPECT_TRUE(Ended(masked, "exec_error", 126));
  EXPECT_EQ(said(masked.err), Lines{"confine: " + script + ": its interpreter /usr/bin/env (from its #! line) is "
                                                           "masked by the deny rule at <command line>"})
      << masked.describe();
  expect_never_started(masked);

  // An ELF program whose dynamic linker (PT_INTERP) is missing: /usr is there, /lib64 is not.
  const RunResult elf = run_command({"/usr/bin/true"}, with_args({"-p", policy("no-lib64.toml")}));
  EXPECT_TRUE(Ended(elf, "exec_error", 127));
  const Lines elf_lines = said(elf.err);
  ASSERT_EQ(elf_lines.size(), 1U) << elf.describe();
  EXPECT_EQ(elf_lines[0].rfind("confine: /usr/bin/true: its interpreter /lib", 0), 0U) << elf_lines[0];
  EXPECT_NE(elf_lines[0].find(" is not in the sandbox (it exists on the host; no ro or rw rule shows it)"), std::string::npos)
      << elf_lines[0];
  expect_never_started(elf);

  // A command the sandbox's PATH does not have: found nowhere, reported with an absolute path.
  const RunResult path_miss = run_command({"no-such-command-xyz"});
  EXPECT_TRUE(Ended(path_miss, "exec_error", 127));
  expect_never_started(path_miss);
  EXPECT_EQ((*path_miss.report)["exec_error"]["path"], "/usr/local/bin/no-such-command-xyz");
  EXPECT_EQ((*path_miss.report)["phases"].size(), 2U) << "nothing but the policy and the plan ran";
}

TEST_F(CliTest, DryRunRefusesWhatRunWouldRefuse) {
  std::vector<std::string> args;
  for (int i = 0; i < 500; ++i) args.insert(args.end(), {"--ro", "/usr/share/doc/d" + std::to_string(i)});
  for (const bool dry : {true, false}) {
    auto options = with_args(args);
    if (dry) options.args.push_back("--dry-run");
    const RunResult r = run_probe({"write", job_path("started")}, options);
    EXPECT_EQ(r.exit_code, 125) << r.describe();
    EXPECT_NE(r.err.find("path rules (ro, rw, deny and tmpfs together); at most 480 fit in the sandbox's mount table"),
              std::string::npos)
        << r.describe();
    EXPECT_FALSE(std::filesystem::exists(job_path("started")));
  }
  const RunResult root = run_probe({"exit", "0"}, with_args({"--dry-run", "--ro", "/"}));
  EXPECT_EQ(root.exit_code, 125);
  EXPECT_NE(root.err.find("'/' cannot be read-only"), std::string::npos) << root.describe();
}

TEST_F(CliTest, ASymlinkRuleThatDanglesIsAWarning) {
  const std::string link = base_ + "/dangling";
  ASSERT_EQ(::symlink("/opt/not-in-the-sandbox", link.c_str()), 0);
  const RunResult r = run_probe({"exit", "0"}, with_args({"--ro", link, "--dry-run"}));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("confine: warning: <command line>: " + link +
                       " is a symlink to /opt/not-in-the-sandbox, which the sandbox does not show: it will dangle "
                       "there (bind /opt/not-in-the-sandbox too, or drop the rule)\n"),
            std::string::npos)
      << r.describe();
}

TEST_F(CliTest, RootOnlyAJobDirectoryTheSandboxCannotWriteGetsTheChown) {
  CONFINE_REQUIRE_ROOT();
  const std::string dir = base_ + "/root-owned";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  const RunResult r = run_probe({"write", dir + "/out"}, with_args({"--rw", dir}));
  EXPECT_TRUE(ProbeDenied(r));
  EXPECT_NE(r.err.find("confine: warning: " + dir + " is bound read-write, but the job runs as host uid 65534, "
                       "which cannot write there (owner uid 0, gid 0, mode 0755): chown 65534:65534 " + dir + "\n"),
            std::string::npos)
      << r.describe();
}

TEST_F(CliTest, TheCallersDirectoryIsTheDefaultCwdWhenTheSandboxShowsIt) {
  RunOptions in_job;
  in_job.wrapper = {"/usr/bin/env", "-C", job_};
  const RunResult r = run_probe({"cwd"}, in_job);
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_EQ(first_line(r.out), job_);
  // Outside anything the sandbox shows: "/".
  RunOptions elsewhere;
  elsewhere.wrapper = {"/usr/bin/env", "-C", base_ + "/secret"};
  const RunResult root = run_probe({"cwd"}, elsewhere);
  ASSERT_TRUE(ProbeOk(root));
  EXPECT_EQ(first_line(root.out), "/");
}

// A limit the caller typed is what the caller asked for: it fails closed where the host cannot
// enforce it, even under the best-effort default policy, unless --best-effort is typed too.
TEST_F(CliTest, LimitsTypedOnTheCommandLineAreRequired) {
  // Rootless on the CI host there is no cgroup at all; as root, a cgroup without controllers.
  const bool memory = is_root() && cgroup_controller_available("memory");
  const RunResult typed = run_probe({"exit", "0"}, with_args({"--memory", "256M"}));
  if (memory) {
    EXPECT_TRUE(ProbeOk(typed)) << "this host has the memory controller";
  } else {
    EXPECT_EQ(typed.exit_code, 125) << typed.describe();
    EXPECT_NE(typed.err.find("--memory 256M needs the cgroup v2 'memory' controller (a limit given on the command "
                             "line is required unless --best-effort is given too)"),
              std::string::npos)
        << typed.describe();
    ASSERT_TRUE(typed.report);
    EXPECT_EQ((*typed.report)["setup_error"]["step"], "plan");
  }
  const RunResult accepted = run_probe({"exit", "0"}, with_args({"--memory", "256M", "--best-effort"}));
  EXPECT_TRUE(ProbeOk(accepted));
}

// Cancellation escalates, as timeout -k and systemd do: SIGTERM to confine reaches the job; a
// job that ignores it gets its kill grace and is then killed, all of it.
TEST_F(CliTest, ACancelledJobThatIgnoresSigtermIsKilledAfterItsGrace) {
  const std::string armed = job_path("armed");
  Running running = start_probe({"armed-sleep", armed, "60", "ignore"}, with_args({"--kill-after", "1s"}));
  ASSERT_TRUE(appears(armed)) << "the probe never armed";
  const auto sent = std::chrono::steady_clock::now();
  running.signal(SIGTERM);
  const RunResult r = running.wait();
  const auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_TRUE(Ended(r, "signaled", 128 + SIGKILL));
  EXPECT_GE(took, 900ms) << "the job got its grace";
  EXPECT_LT(took, 15s) << "and no more";
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["cancelled"], "SIGTERM");
  EXPECT_EQ((*r.report)["target"]["signal_name"], "SIGKILL");
  EXPECT_EQ(said(r.err), Lines{"confine: cancelled by SIGTERM; the job did not end within its kill grace and was "
                               "killed (SIGKILL)"})
      << r.describe();
  EXPECT_TRUE(wait_until_gone(tag_, 5s).empty());
}

TEST_F(CliTest, ASecondSigintKillsAtOnce) {
  const std::string armed = job_path("armed");
  Running running = start_probe({"armed-sleep", armed, "60", "ignore"}, with_args({"--kill-after", "60s"}));
  ASSERT_TRUE(appears(armed)) << "the probe never armed";
  const auto sent = std::chrono::steady_clock::now();
  running.signal(SIGINT);
  std::this_thread::sleep_for(300ms);
  running.signal(SIGINT);
  const RunResult r = running.wait();
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 20s) << "not the 60 s grace";
  EXPECT_TRUE(Ended(r, "signaled", 128 + SIGKILL));
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["cancelled"], "SIGINT");
}

TEST_F(CliTest, AJobThatHonoursSigtermEndsByItAndTheReportSaysCancelled) {
  const std::string armed = job_path("armed");
  Running running = start_probe({"armed-sleep", armed, "60"});
  ASSERT_TRUE(appears(armed)) << "the probe never armed";
  running.signal(SIGTERM);
  const RunResult r = running.wait();
  EXPECT_TRUE(Ended(r, "signaled", 128 + SIGTERM));
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["cancelled"], "SIGTERM");
  const RunResult plain = run_probe({"exit", "0"});
  ASSERT_TRUE(plain.report);
  EXPECT_TRUE((*plain.report)["cancelled"].is_null());
}

TEST_F(CliTest, ACommandWithoutDashesRunsAndMistakesAreNamed) {
  const std::string report = base_ + "/nodash.json";
  Invocation inv;
  inv.argv = {confine_binary(), "run", "--ro", probe_dir(), "--rw", job_, "--report", report, probe_binary(),
              "--tag", tag_, "write", job_path("ran")};
  const RunResult r = integ::start(inv, report).wait();
  EXPECT_TRUE(ProbeOk(r));
  EXPECT_TRUE(std::filesystem::exists(job_path("ran")));

  inv.argv = {confine_binary(), "run", "--tmeout", "5s", "--", probe_binary(), "exit", "0"};
  const RunResult typo = integ::start(inv, "").wait();
  EXPECT_EQ(typo.exit_code, 125);
  EXPECT_EQ(typo.err, "confine: error: run: unknown option '--tmeout'; did you mean '--timeout'? (see 'confine run --help')\n");

  inv.argv = {confine_binary(), "rn", "--", "true"};
  const RunResult sub = integ::start(inv, "").wait();
  EXPECT_EQ(sub.exit_code, 125);
  EXPECT_EQ(sub.err, "confine: error: unknown command 'rn'; did you mean 'run'?\n");
}

TEST_F(CliTest, TheReportForAPerson) {
  const RunResult r = run_probe({"exit", "3"});
  EXPECT_TRUE(Ended(r, "exit_nonzero", 3));
  const std::string json_report = base_ + "/report-1.json";
  Invocation inv;
  inv.argv = {confine_binary(), "report", json_report};
  const RunResult text = integ::start(inv, "").wait();
  EXPECT_EQ(text.exit_code, 0) << text.describe();
  EXPECT_EQ(text.out.rfind("outcome       exit_nonzero: job exited with code 3\nexit code     3\n", 0), 0U) << text.out;
  EXPECT_NE(text.out.find("\nenforced      user_namespace, "), std::string::npos) << text.out;

  // --report-format text writes the same text where the JSON would go.
  const RunResult direct = run_probe({"exit", "3"}, with_args({"--report-format", "text"}));
  EXPECT_EQ(direct.exit_code, 3);
  EXPECT_FALSE(direct.report) << "not JSON";
  EXPECT_EQ(direct.report_text.rfind("outcome       exit_nonzero: job exited with code 3\n", 0), 0U) << direct.report_text;
  const std::string text_report = base_ + "/report-2.json";

  inv.argv = {confine_binary(), "report", text_report};
  const RunResult not_json = integ::start(inv, "").wait();
  EXPECT_EQ(not_json.exit_code, 1);
  EXPECT_EQ(not_json.err, "confine: error: " + text_report +
                              ": not a JSON object (a confine report is one JSON document)\n");
}

}  // namespace
}  // namespace integ
