// How runs end: one test per outcome class, checking confine's exit code, the report's
// outcome and the target fields together (docs/report.md, "Exit codes and outcomes"); and the
// runs that must start nothing (a bad policy, --dry-run).
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "fixture.h"

namespace integ {
namespace {

using OutcomeTest = SandboxTest;

TEST_F(OutcomeTest, ExitZeroIsOk) {
  const RunResult r = run_probe({"exit", "0"});
  EXPECT_TRUE(ProbeOk(r));
  ASSERT_TRUE(r.report);
  EXPECT_TRUE((*r.report)["target"]["signal"].is_null());
  EXPECT_TRUE((*r.report)["setup_error"].is_null());
  EXPECT_TRUE((*r.report)["exec_error"].is_null());
  EXPECT_EQ((*r.report)["report_version"], 1);
  // The protections this run relied on are listed as enforced.
  std::set<std::string> enforced;
  for (const auto& p : (*r.report)["enforced"]) {
    if (p["status"] == "enforced") enforced.insert(p["name"].get<std::string>());
  }
  for (const char* name : {"user_namespace", "mount_namespace", "network_namespace", "seccomp", "no_new_privs"}) {
    EXPECT_EQ(enforced.count(name), 1U) << name << " not listed as enforced\n" << r.describe();
  }
}

TEST_F(OutcomeTest, NonZeroExitPassesThrough) {
  const RunResult r = run_probe({"exit", "3"});
  EXPECT_TRUE(Ended(r, "exit_nonzero", 3));
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["target"]["exit_code"], 3);
  EXPECT_TRUE((*r.report)["target"]["signal"].is_null());
}

TEST_F(OutcomeTest, DeathBySignalIs128PlusN) {
  const RunResult r = run_probe({"signal", "6"});
  EXPECT_TRUE(Ended(r, "signaled", 128 + SIGABRT));
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["target"]["signal"], SIGABRT);
  EXPECT_EQ((*r.report)["target"]["signal_name"], "SIGABRT");
  EXPECT_TRUE((*r.report)["target"]["exit_code"].is_null());
}

TEST_F(OutcomeTest, WritingPastTheFileSizeLimit) {
  const RunResult r = run_probe({"write-big", job_path("big"), "4"}, with_args({"-p", policy("file-size-1m.toml")}));
  EXPECT_TRUE(EndedByLimit(r, "file_size_limit", 128 + SIGXFSZ, "file_size"));
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["target"]["signal"], SIGXFSZ);
  struct stat st {};
  ASSERT_EQ(::stat(job_path("big").c_str(), &st), 0);
  EXPECT_LE(st.st_size, 1 << 20);
  // The control: under the default policy (256M) the same write succeeds.
  EXPECT_TRUE(ProbeOk(run_probe({"write-big", job_path("big"), "4"})));
}

TEST_F(OutcomeTest, CommandNotFoundIs127) {
  const std::string missing = job_path("no-such-program");
  const RunResult r = run_command({missing});
  EXPECT_TRUE(Ended(r, "exec_error", 127));
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["exec_error"]["errno_name"], "ENOENT") << r.describe();
  EXPECT_TRUE((*r.report)["setup_error"].is_null());
}

TEST_F(OutcomeTest, NotExecutableIs126) {
  const std::string script = job_path("not-executable");
  write_text(script, "#!/bin/sh\nexit 0\n", 0644);
  const RunResult r = run_command({script});
  EXPECT_TRUE(Ended(r, "exec_error", 126));
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["exec_error"]["errno_name"], "EACCES") << r.describe();
}

TEST_F(OutcomeTest, MissingRoPathIsASetupError) {
  const std::string missing = base_ + "/does-not-exist";
  const RunResult r = run_probe({"write", job_path("started")}, with_args({"--ro", missing}));
  EXPECT_TRUE(Ended(r, "setup_error", 125));
  ASSERT_TRUE(r.report);
  ASSERT_TRUE((*r.report)["setup_error"].is_object()) << r.describe();
  EXPECT_NE((*r.report)["setup_error"]["message"].get<std::string>().find(missing), std::string::npos)
      << r.describe();
  EXPECT_NE(r.err.find(missing), std::string::npos) << "stderr does not name the path\n" << r.describe();
  EXPECT_FALSE(std::filesystem::exists(job_path("started")));
}

TEST_F(OutcomeTest, BadPolicyStartsNothing) {
  const RunResult r = run_probe({"write", job_path("started")}, with_args({"-p", policy("bad-unknown-key.toml")}));
  EXPECT_TRUE(Ended(r, "setup_error", 125));
  ASSERT_TRUE(r.report);
  EXPECT_EQ((*r.report)["setup_error"]["step"], "policy") << r.describe();
  // The problem is located (file:line:col) and names the key.
  EXPECT_NE(r.err.find("bad-unknown-key.toml:"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("wall_tme"), std::string::npos) << r.describe();
  EXPECT_FALSE(std::filesystem::exists(job_path("started")));
  EXPECT_EQ((*r.report)["times"]["wall_us"], 0);
}

TEST_F(OutcomeTest, BadCommandLineIs125) {
  const RunResult r = run_probe({"exit", "0"}, with_args({"--net", "everywhere"}));
  EXPECT_EQ(r.exit_code, 125) << r.describe();
}

TEST_F(OutcomeTest, DryRunPrintsAPlanAndStartsNothing) {
  const RunResult r = run_probe({"write", job_path("started")}, with_args({"--dry-run"}));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_FALSE(std::filesystem::exists(job_path("started")));
  // The plan names what it would do: the job dir bind and the command.
  EXPECT_NE(r.out.find(job_), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find(probe_binary()), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace integ
