// `confine learn` and `confine run --audit`: what the learning filter records (a static binary's
// opens, a path relative to a directory descriptor, a probed-but-missing path, a second
// thread's open, an exec chain through sh and the ELF interpreter), what the writer refuses,
// and a learned policy that then runs the job it was learned from.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fixture.h"

namespace integ {
namespace {

struct Learned {
  RunResult run;
  std::string policy;  // the text written to --out ("" when none was)
  nlohmann::json data;  // its "# learn-data:" line
};

class LearnTest : public SandboxTest {
 protected:
  Learned learn(const std::vector<std::string>& options, const std::vector<std::string>& command) {
    const std::string out = base_ + "/learned-" + std::to_string(++learns_) + ".toml";
    const std::string report = base_ + "/learn-report-" + std::to_string(learns_) + ".json";
    Invocation inv;
    inv.argv = {confine_binary(), "learn", "--rw", job_, "--report", report, "--out", out};
    inv.argv.insert(inv.argv.end(), options.begin(), options.end());
    inv.argv.push_back("--");
    inv.argv.insert(inv.argv.end(), command.begin(), command.end());
    inv.extra_env = {"CONFINE_INTEG_TAG=" + tag_};
    Learned l;
    l.run = integ::start(inv, report).wait();
    std::ifstream in(out);
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      l.policy = text.str();
      const size_t at = l.policy.find("# learn-data: ");
      if (at != std::string::npos) {
        const size_t start = at + 14;
        l.data = nlohmann::json::parse(l.policy.substr(start, l.policy.find('\n', start) - start), nullptr, false);
      }
    }
    last_out_ = out;
    return l;
  }

  // The learned policy's `ro` lines, as written (path strings).
  static std::vector<std::string> ro_paths(const std::string& policy) {
    std::vector<std::string> out;
    const size_t begin = policy.find("\nro = [\n");
    if (begin == std::string::npos) return out;
    std::istringstream lines(policy.substr(begin + 8, policy.find("\n]", begin + 1) - begin - 8));
    std::string line;
    while (std::getline(lines, line)) {
      const size_t q = line.find('"');
      if (q != std::string::npos) out.push_back(line.substr(q + 1, line.find('"', q + 1) - q - 1));
    }
    return out;
  }

  static bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }

  // A path record of the learn data: {path, access} with the given flags, or null.
  static const nlohmann::json* record(const nlohmann::json& data, const std::string& path, const std::string& access) {
    if (!data.is_object()) return nullptr;
    for (const auto& r : data["paths"]) {
      if (r["path"] == path && r["access"] == access) return &r;
    }
    return nullptr;
  }

  RunResult check(const std::string& file) {
    Invocation inv;
    inv.argv = {confine_binary(), "check", file};
    return integ::start(inv, base_ + "/no-report.json").wait();
  }

  std::string last_out_;
  int learns_ = 0;
};

TEST_F(LearnTest, RecordsAStaticBinarysOpensThroughDirfdsThreadsAndMissingProbes) {
  const std::string probe = learn_probe_binary();
  const std::string probe_dir = probe.substr(0, probe.rfind('/'));
  const std::string missing = "/usr/share/confine-learn-no-such-file";
  Learned l = learn({"--ro", probe_dir},
                    {probe, "open-at", "/usr/share/common-licenses", "GPL-3", "probe", missing, "thread-open",
                     "/usr/share/common-licenses/BSD", "io-uring"});
  ASSERT_EQ(l.run.exit_code, 0) << l.run.describe();
  // io_uring is refused while learning: its requests open files where no filter sees them.
  EXPECT_NE(l.run.out.find("io_uring ENOSYS"), std::string::npos) << l.run.out;
  const auto ro = ro_paths(l.policy);
  EXPECT_TRUE(has(ro, "/usr/share/common-licenses/GPL-3")) << l.policy;  // openat relative to a dirfd
  EXPECT_TRUE(has(ro, "/usr/share/common-licenses/BSD")) << l.policy;    // opened by a second thread
  EXPECT_TRUE(has(ro, probe)) << l.policy;                               // the static binary itself
  const auto* probed = record(l.data, missing, "probe");
  ASSERT_NE(probed, nullptr) << l.policy;
  EXPECT_FALSE((*probed)["in_sandbox"].get<bool>());
  EXPECT_FALSE((*probed)["on_host"].get<bool>());
  EXPECT_FALSE(has(ro, missing));
  // The allow-list has what the static binary called, io_uring_setup not among them.
  EXPECT_NE(l.policy.find("\"openat\","), std::string::npos);
  EXPECT_EQ(l.policy.find("\"io_uring_setup\","), std::string::npos);
  EXPECT_EQ(check(last_out_).exit_code, 0);
  // The run's report says the filter was a learning one, not the policy's.
  ASSERT_TRUE(l.run.report) << l.run.describe();
  bool learning = false;
  for (const auto& p : (*l.run.report)["enforced"]) learning = learning || (p["name"] == "seccomp" && p["status"] == "learn");
  EXPECT_TRUE(learning) << (*l.run.report)["enforced"].dump();
}

// A shell's SIGCHLD handler has no SA_RESTART. Had fork and pipe notified confine, a child's
// exit before confine received the notification would fail them with EINTR (dash: "Cannot
// fork"); they are in the learning baseline, never notified, and in the learned allow-list.
TEST_F(LearnTest, ForksAndPipesUnderAShellsSigchldHandlerNeverFailWithEintr) {
  const std::string probe = learn_probe_binary();
  Learned l = learn({"--ro", probe.substr(0, probe.rfind('/'))}, {probe, "fork-storm", "2000"});
  ASSERT_EQ(l.run.exit_code, 0) << l.run.describe();
  EXPECT_NE(l.run.out.find("fork-storm eintr=0"), std::string::npos) << l.run.out;
  EXPECT_NE(l.policy.find("\"clone\","), std::string::npos) << l.policy;
  EXPECT_NE(l.policy.find("\"pipe2\","), std::string::npos) << l.policy;
}

TEST_F(LearnTest, FollowsShIntoTheToolAndRecordsTheElfInterpreter) {
  const std::vector<std::string> command{"/bin/sh", "-c", "cat /usr/share/common-licenses/Apache-2.0 > /dev/null"};
  Learned l = learn({}, command);
  ASSERT_EQ(l.run.exit_code, 0) << l.run.describe();
  ASSERT_TRUE(l.data.is_object()) << l.policy;
  EXPECT_NE(record(l.data, "/usr/bin/cat", "exec"), nullptr) << l.policy;  // exec'd by sh
  const auto ro = ro_paths(l.policy);
  EXPECT_TRUE(has(ro, "/usr/share/common-licenses/Apache-2.0")) << l.policy;  // opened by cat
  // The ELF interpreter: the kernel opens it inside execve; no syscall names it.
  EXPECT_TRUE(has(ro, "/lib64") || has(ro, "/lib64/ld-linux-x86-64.so.2")) << l.policy;
  // And the learned policy runs the job.
  RunResult r = run_command(command, with_args({"-p", last_out_}));
  EXPECT_TRUE(Ended(r, "ok", 0));
}

TEST_F(LearnTest, RefusesToWidenToASensitiveDirectory) {
  Learned l = learn({}, {"/bin/sh", "-c", "cat /etc/passwd /etc/group /etc/hosts /etc/nsswitch.conf /etc/host.conf > /dev/null"});
  ASSERT_EQ(l.run.exit_code, 0) << l.run.describe();
  const auto ro = ro_paths(l.policy);
  EXPECT_FALSE(has(ro, "/etc")) << l.policy;
  EXPECT_TRUE(has(ro, "/etc/passwd")) << l.policy;
  EXPECT_NE(l.run.err.find("not widened to /etc"), std::string::npos) << l.run.err;
}

TEST_F(LearnTest, AFailedRunWritesNoPolicyUnlessAllowed) {
  Learned refused = learn({}, {"/bin/sh", "-c", "exit 3"});
  EXPECT_EQ(refused.run.exit_code, 3) << refused.run.describe();
  EXPECT_TRUE(refused.policy.empty());
  EXPECT_NE(refused.run.err.find("no policy written"), std::string::npos) << refused.run.err;
  Learned allowed = learn({"--allow-failure"}, {"/bin/sh", "-c", "exit 3"});
  EXPECT_EQ(allowed.run.exit_code, 3);
  EXPECT_NE(allowed.policy.find("last outcome: exit_nonzero"), std::string::npos) << allowed.policy;
}

TEST_F(LearnTest, APolicyLearnedForPythonRunsIt) {
  const std::vector<std::string> command{"/usr/bin/python3", "-c", "import json; print(json.dumps({'learned': 1}))"};
  Learned l = learn({}, command);
  ASSERT_EQ(l.run.exit_code, 0) << l.run.describe();
  EXPECT_EQ(check(last_out_).exit_code, 0);
  // Tighter than the base: no /usr or /etc as a whole, an allow-list.
  const auto ro = ro_paths(l.policy);
  EXPECT_FALSE(has(ro, "/usr"));
  EXPECT_FALSE(has(ro, "/etc"));
  EXPECT_NE(l.policy.find("default_action = \"errno\""), std::string::npos);
  RunResult r = run_command(command, with_args({"-p", last_out_}));
  EXPECT_TRUE(Ended(r, "ok", 0));
  EXPECT_EQ(r.out, "{\"learned\": 1}\n");
}

TEST_F(LearnTest, APolicyLearnedForImageMagickConvertRunsIt) {
  CONFINE_REQUIRE(::access("/usr/bin/convert", X_OK) == 0, "ImageMagick's /usr/bin/convert is not installed");
  // A 2x2 PPM (convert reads it natively) to a PNG, in the job directory.
  write_text(job_path("in.ppm"), "P3\n2 2\n255\n255 0 0  0 255 0\n0 0 255  255 255 255\n");
  const std::vector<std::string> command{"/usr/bin/convert", job_path("in.ppm"), "-resize", "200%", job_path("out.png")};
  Learned l = learn({}, command);
  ASSERT_EQ(l.run.exit_code, 0) << l.run.describe();
  EXPECT_EQ(check(last_out_).exit_code, 0);
  ASSERT_EQ(::unlink(job_path("out.png").c_str()), 0);
  RunResult r = run_command(command, with_args({"-p", last_out_}));
  EXPECT_TRUE(Ended(r, "ok", 0));
  EXPECT_EQ(::access(job_path("out.png").c_str(), F_OK), 0);
}

TEST_F(LearnTest, MergeUnionsTwoRuns) {
  Learned a = learn({}, {"/bin/sh", "-c", "cat /usr/share/common-licenses/GPL-2 > /dev/null"});
  ASSERT_EQ(a.run.exit_code, 0) << a.run.describe();
  const std::string first = last_out_;
  Learned b = learn({"--merge", first}, {"/bin/sh", "-c", "cat /usr/share/common-licenses/GPL-1 > /dev/null"});
  ASSERT_EQ(b.run.exit_code, 0) << b.run.describe();
  const auto ro = ro_paths(b.policy);
  EXPECT_TRUE(has(ro, "/usr/share/common-licenses/GPL-2")) << b.policy;
  EXPECT_TRUE(has(ro, "/usr/share/common-licenses/GPL-1")) << b.policy;
  EXPECT_NE(b.policy.find("from 2 runs"), std::string::npos);
}

// A service's shape: each job's input read-only as its working directory and an output area.
// What the job did there is per job: a merge of runs on two job dirs lists neither dir's files,
// nor the output area, nor a cwd (found when the doc's --merge example listed /srv/jobs/1/in.pdf).
TEST_F(LearnTest, AJobsOwnDirectoriesAreNotLearnedAcrossMerges) {
  std::vector<std::string> inputs;
  for (const char* name : {"in-a", "in-b"}) {
    const std::string dir = base_ + "/" + name;
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    write_text(dir + "/in.txt", std::string("input of ") + name + "\n", 0644);
    inputs.push_back(dir);
  }
  const std::string command = "cat in.txt /usr/share/common-licenses/GPL-2 > /out/copy.txt";
  Learned a = learn({"--ro", inputs[0], "--cwd", inputs[0], "--output", base_ + "/out-a"}, {"/bin/sh", "-c", command});
  ASSERT_EQ(a.run.exit_code, 0) << a.run.describe();
  EXPECT_EQ(read_text(base_ + "/out-a/copy.txt").value_or("").rfind("input of in-a\n", 0), 0U);  // delivered
  const std::string first = last_out_;
  Learned b = learn({"--merge", first, "--ro", inputs[1], "--cwd", inputs[1], "--output", base_ + "/out-b"},
                    {"/bin/sh", "-c", command});
  ASSERT_EQ(b.run.exit_code, 0) << b.run.describe();
  const auto ro = ro_paths(b.policy);
  EXPECT_TRUE(has(ro, "/usr/share/common-licenses/GPL-2")) << b.policy;
  for (const auto& path : ro) {
    EXPECT_EQ(path.rfind(base_, 0), std::string::npos) << path << " is a job's own\n" << b.policy;
    EXPECT_EQ(path.rfind("/out", 0), std::string::npos) << path << " is in the output area\n" << b.policy;
  }
  EXPECT_EQ(b.policy.find("\ncwd = "), std::string::npos) << b.policy;
  for (const auto& r : b.data["paths"]) {
    EXPECT_EQ(r["path"].get<std::string>().rfind(base_, 0), std::string::npos) << r.dump();
  }
  // And the policy runs the next job, given its directories on the command line.
  EXPECT_EQ(check(last_out_).exit_code, 0);
  RunOptions next = with_args({"-p", last_out_, "--ro", inputs[1], "--cwd", inputs[1], "--output", base_ + "/out-c"});
  next.bind_job = false;
  const RunResult r = run_command({"/bin/sh", "-c", command}, next);
  EXPECT_TRUE(Ended(r, "ok", 0));
  EXPECT_EQ(read_text(base_ + "/out-c/copy.txt").value_or("").rfind("input of in-b\n", 0), 0U);
}

using AuditTest = SandboxTest;

TEST_F(AuditTest, ListsADeniedSyscallAndAnUnexposedPathAndTheJobCompletes) {
  // The canary exists on the host and the default policy does not show it; ptrace is in
  // @default-deny (a kill). Under --audit both are listed and the job runs on to exit 0.
  RunResult r = run_command({"/bin/sh", "-c", "cat " + canary_ + "; " + probe_binary() + " --tag " + tag_ +
                                                  " try-syscall ptrace; echo done"},
                            with_args({"--audit"}));
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_NE(r.out.find("done"), std::string::npos);
  const auto& audit = (*r.report)["audit"];
  bool ptrace = false, canary = false;
  for (const auto& s : audit["syscalls"]) ptrace = ptrace || s["syscall"] == "ptrace";
  for (const auto& p : audit["paths"]) canary = canary || (p["path"] == canary_ && p["operation"] == "read");
  EXPECT_TRUE(ptrace) << audit.dump();
  EXPECT_TRUE(canary) << audit.dump();
}

}  // namespace
}  // namespace integ
