// What the plan now catches or decides before the run (issue 13): the mount-step limit, the
// caller's cwd as the default, symlink rules that dangle inside, and after a failed execve the
// cause named (a missing or masked ELF or #! interpreter) instead of a bare errno.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "confine/child.h"
#include "confine/plan.h"
#include "plan_fake_host.h"

namespace confine::plan {
namespace {

using namespace testing;

class RunChecks : public ::testing::Test {
 protected:
  std::shared_ptr<FakeTree> tree = debian_tree();
  policy::Policy policy = default_like_policy();
  HostFacts host = fake_host(tree, Caller::kRoot);
  RunRequest req = request({"echo", "hi"});

  Plan expect_plan() {
    auto result = make_plan(policy, req, host);
    EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().render());
    return result ? *result : Plan{};
  }
};

TEST_F(RunChecks, TheMountStepLimitIsAPlanError) {
  // Built in C++, so the loader's own bound (policy::kMaxPathRules) is not in the way: the plan
  // checks the exact count itself, so `--dry-run` refuses what the launch would.
  for (size_t i = 0; i < child::kMaxMountSteps; ++i) {
    const std::string dir = "/data/d" + std::to_string(i);
    tree->dir(dir);
    policy.filesystem.ro.push_back(rule(dir, 100));
  }
  auto result = make_plan(policy, req, host);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find(" mount steps; at most 512 fit"), std::string::npos) << result.error().render();
  EXPECT_EQ(result.error().hint, "bind a common parent directory instead of many paths under it");
}

TEST_F(RunChecks, TheCallersCwdIsTheDefaultWhenTheSandboxShowsIt) {
  policy.process.cwd = {"/", {}};  // no file or flag set it
  policy.filesystem.rw.push_back(rule("/jobs/42", 30));
  req.caller_cwd = "/jobs/42/out";
  EXPECT_EQ(expect_plan().cwd, "/jobs/42/out");

  // Not shown (the home directory), or shown only as a fresh tmpfs (/tmp): "/".
  req.caller_cwd = "/home/alice";
  EXPECT_EQ(expect_plan().cwd, "/");
  req.caller_cwd = "/tmp";
  EXPECT_EQ(expect_plan().cwd, "/");
  // Masked by a deny rule: "/" as well.
  policy.filesystem.deny.push_back(rule("/jobs/42/out", 31));
  req.caller_cwd = "/jobs/42/out";
  EXPECT_EQ(expect_plan().cwd, "/");

  // A policy (or --cwd) that names a cwd wins.
  policy.filesystem.deny.clear();
  policy.process.cwd = from_file<std::string>("/jobs/42", 13);
  EXPECT_EQ(expect_plan().cwd, "/jobs/42");
}

TEST_F(RunChecks, ASymlinkRuleThatDanglesInsideIsAWarning) {
  policy.filesystem.ro = {rule("/lib64", 24), rule("/etc/ld.so.cache", 26)};
  req = request({"/etc/ld.so.cache"});
  Plan plan = expect_plan();
  ASSERT_EQ(plan.warnings.size(), 1U) << plan.warnings.size();
  EXPECT_EQ(plan.warnings[0],
            "test.toml:24:3: /lib64 is a symlink to usr/lib64, which the sandbox does not show: it will dangle "
            "there (bind /usr/lib64 too, or drop the rule)");
  // With its target bound, nothing to say.
  policy.filesystem.ro.push_back(rule("/usr", 20));
  plan = expect_plan();
  for (const auto& w : plan.warnings) EXPECT_EQ(w.find("dangle"), std::string::npos) << w;
}

// An ELF64 file's first bytes with a PT_INTERP program header naming `interpreter`.
std::string elf_with_interpreter(const std::string& interpreter) {
  std::string head(512, '\0');
  auto put = [&head](size_t offset, uint64_t value, size_t width) {
    for (size_t i = 0; i < width; ++i) head[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
  };
  std::memcpy(head.data(), "\x7f" "ELF", 4);
  head[4] = 2;  // ELFCLASS64
  head[5] = 1;  // little-endian
  put(32, 64, 8);  // e_phoff
  put(54, 56, 2);  // e_phentsize
  put(56, 2, 2);   // e_phnum: a PT_PHDR first, then PT_INTERP
  put(64, 6, 4);   // PT_PHDR
  put(120, 3, 4);  // PT_INTERP
  put(120 + 8, 200, 8);                     // p_offset
  put(120 + 32, interpreter.size() + 1, 8);  // p_filesz, with the NUL
  std::memcpy(head.data() + 200, interpreter.data(), interpreter.size());
  return head;
}

class ExecDiagnosis : public RunChecks {
 protected:
  void SetUp() override {
    tree->file("/usr/lib64/ld-linux-x86-64.so.2", true);
    files["/usr/bin/echo"] = elf_with_interpreter("/lib64/ld-linux-x86-64.so.2");
    files["/usr/bin/python3"] = elf_with_interpreter("/lib64/ld-linux-x86-64.so.2");
    files["/usr/lib64/ld-linux-x86-64.so.2"] = std::string("\x7f" "ELF\x02\x01", 6) + std::string(100, '\0');
    files["/jobs/42/run.sh"] = "#!  /usr/bin/python3 -u\nprint('hi')\n";
    policy.filesystem.rw.push_back(rule("/jobs/42", 30));
  }
  std::string explain(const std::string& command, int err) {
    req = request({command});
    const Plan plan = expect_plan();
    return explain_exec_failure(plan, host, err, [this](const std::string& path, size_t count) -> std::optional<std::string> {
      const auto it = files.find(path);
      if (it == files.end()) return std::nullopt;
      return it->second.substr(0, count);
    });
  }
  std::map<std::string, std::string> files;
};

TEST_F(ExecDiagnosis, AMissingElfInterpreterIsNamed) {
  policy.filesystem.ro = {rule("/usr", 20), rule("/etc/ld.so.cache", 26)};  // no /lib64 link
  EXPECT_EQ(explain("/usr/bin/echo", ENOENT),
            "/usr/bin/echo: its interpreter /lib64/ld-linux-x86-64.so.2 is not in the sandbox (it exists on the "
            "host; no ro or rw rule shows it)");
}

TEST_F(ExecDiagnosis, AMaskedInterpreterIsNamedWithItsRule) {
  policy.filesystem.deny.push_back(rule("/usr/lib64/ld-linux-x86-64.so.2", 40));
  EXPECT_EQ(explain("/usr/bin/echo", EACCES),
            "/usr/bin/echo: its interpreter /lib64/ld-linux-x86-64.so.2 is masked by the deny rule at test.toml:40:3");
}

TEST_F(ExecDiagnosis, AShebangInterpreterAndWhatItNeeds) {
  policy.filesystem.deny.push_back(rule("/usr/bin/python3", 41));
  EXPECT_EQ(explain("/jobs/42/run.sh", EACCES),
            "/jobs/42/run.sh: its interpreter /usr/bin/python3 (from its #! line) is masked by the deny rule at "
            "test.toml:41:3");
  policy.filesystem.deny.clear();
  policy.filesystem.ro = {rule("/usr", 20), rule("/etc/ld.so.cache", 26)};
  EXPECT_EQ(explain("/jobs/42/run.sh", ENOENT),
            "/jobs/42/run.sh: its interpreter /usr/bin/python3 (from its #! line) needs "
            "/lib64/ld-linux-x86-64.so.2, which is not in the sandbox (it exists on the host; no ro or rw rule "
            "shows it)");
}

TEST_F(ExecDiagnosis, TheProgramItselfOrPlainErrno) {
  EXPECT_EQ(explain("/no/such", ENOENT), "/no/such: not found in the sandbox");
  EXPECT_EQ(explain("/home/alice/bin/tool", ENOENT),
            "/home/alice/bin/tool: not found in the sandbox (it exists on the host; no ro or rw rule shows it)");
  // Every interpreter is there: the errno speaks.
  EXPECT_EQ(explain("/usr/bin/README", EACCES), "/usr/bin/README: permission denied (not executable by the sandbox's uid 1000)");
  EXPECT_EQ(explain("/usr/bin/echo", ENOEXEC),
            "/usr/bin/echo: not a format the kernel can execute (a script needs a #! line)");
}

TEST_F(ExecDiagnosis, GarbageHeadersAreNoCause) {
  files["/usr/bin/echo"] = std::string("\x7f" "ELF\x02\x01", 6) + std::string(60, '\xff');
  EXPECT_EQ(explain("/usr/bin/echo", ENOENT), "/usr/bin/echo: not found in the sandbox");
  files["/usr/bin/echo"] = "#!";
  EXPECT_EQ(explain("/usr/bin/echo", ENOENT), "/usr/bin/echo: not found in the sandbox");
}

TEST_F(RunChecks, APathMissIsReportedWithAnAbsolutePath) {
  const std::vector<std::string> envp = {"PATH=relative:/usr/local/bin:/usr/bin"};
  EXPECT_EQ(path_candidate("nosuch", envp, host), "/usr/local/bin/nosuch");
  // The one the host has (and the sandbox hides) is the one to name.
  EXPECT_EQ(path_candidate("tool", {"PATH=/usr/bin:/home/alice/bin"}, host), "/home/alice/bin/tool");
}

}  // namespace
}  // namespace confine::plan
