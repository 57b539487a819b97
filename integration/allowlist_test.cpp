// The shipped policies are allow-lists (issue 12): a syscall outside @confine-base fails with
// ENOSYS and the job goes on, a kill under an allow-list is named in the report, and every
// shipped policy opens only the socket families its job needs.
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "fixture.h"

namespace integ {
namespace {

// A syscall newer than the allow-list (lsm_list_modules, Linux 6.8, unknown to libseccomp 2.5.4):
// ENOSYS, as on a kernel without it, and the job carries on to exit by itself. Under the old
// deny-list default.toml it ran (ok).
TEST_F(SandboxTest, ASyscallNewerThanTheAllowListGetsEnosysAndTheJobGoesOn) {
  uint64_t ids[64] = {};
  uint32_t size = sizeof ids;
  CONFINE_REQUIRE(::syscall(461, ids, &size, 0) >= 0,
                  "this kernel has no lsm_list_modules (Linux 6.8+): errno " + std::to_string(errno));
  const RunResult r = run_probe({"try-syscall", "lsm_list_modules"});
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  EXPECT_EQ(first_line(r.out), "ENOSYS") << r.describe();
  ASSERT_TRUE(r.report.has_value()) << r.describe();
  EXPECT_TRUE((*r.report)["seccomp_violation"].is_null()) << r.describe();
}

// Past the highest number of any table: ENOSYS as well (the kernel would say the same). Needs no
// particular kernel, so it is a test of its own rather than behind lsm_list_modules.
TEST_F(SandboxTest, ASyscallNumberPastEveryTableGetsEnosys) {
  const RunResult past = run_probe({"try-syscall", "nr-1000"});
  EXPECT_TRUE(Ended(past, "exit_nonzero", 1));
  EXPECT_EQ(first_line(past.out), "ENOSYS") << past.describe();
}

// A known syscall left out of @confine-base: ENOSYS, not a kill (a glibc or library probe of an
// optional interface must be able to fall back). The old default.toml let personality run.
TEST_F(SandboxTest, AKnownSyscallOutsideTheAllowListGetsEnosys) {
  const RunResult r = run_probe({"try-syscall", "personality"});
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  EXPECT_EQ(first_line(r.out), "ENOSYS") << r.describe();
}

// A kill under an allow-list is named: the default action's (a policy with default_action =
// "kill" over @confine-base), and the explicit @default-deny kill rules of default.toml.
TEST_F(SandboxTest, AllowListKillsNameTheSyscall) {
  const std::string path = base_ + "/kill-default.toml";
  write_text(path, "version = 1\nextends = [\"" + shipped_policy_dir() +
                       "/default.toml\"]\n[seccomp]\ndefault_action = \"kill\"\n");
  EXPECT_TRUE(KilledBySeccomp(run_probe({"try-syscall", "personality"}, with_args({"-p", path})), "personality"));
  EXPECT_TRUE(KilledBySeccomp(run_probe({"try-syscall", "ptrace"}), "ptrace"));
  // The allowed part still runs under that policy.
  EXPECT_TRUE(ProbeOk(run_probe({"try-syscall", "uname"}, with_args({"-p", path}))));
}

// The kernel resumes a sleep interrupted by SIGSTOP/SIGCONT through restart_syscall, a call no
// program makes itself (so no trace of honest runs lists it): the allow-list must have it, or
// the sleep fails with ENOSYS when the job is continued.
TEST_F(SandboxTest, AnInterruptedSleepResumesUnderTheAllowList) {
  EXPECT_TRUE(ProbeOk(run_probe({"interrupted-sleep"})));
}

// --- Socket families per shipped policy --------------------------------------------------------

// How a policy refuses a family its job does not need.
enum class Refusal { kEafnosupport, kEacces, kKill };

struct Preset {
  const char* file;
  bool unix_sockets;  // AF_UNIX opens (the family every policy that allows socket() keeps)
  Refusal refusal;
};

// Every file in policies/. The workload policies that kill socket() outright (no job of theirs
// opens one) are stricter than the family list; python answers EACCES (policies/python.toml).
constexpr Preset kPresets[] = {
    {"default.toml", true, Refusal::kEafnosupport},     {"workload-base.toml", true, Refusal::kEafnosupport},
    {"libreoffice.toml", true, Refusal::kEafnosupport}, {"pandoc.toml", true, Refusal::kEafnosupport},
    {"python.toml", false, Refusal::kEacces},           {"ffmpeg.toml", false, Refusal::kKill},
    {"ghostscript.toml", false, Refusal::kKill},        {"imagemagick.toml", false, Refusal::kKill},
};

// Families no shipped job needs: inet and inet6 (network.mode = "none": only a loopback to
// reach), netlink, and what a network namespace does not contain or no conversion needs.
std::vector<std::string> refused_families() {
  std::vector<std::string> out{"inet", "inet6", "netlink", "vsock", "packet", "alg"};
  for (int family : {AF_KEY, AF_BLUETOOTH, AF_CAN, AF_TIPC, AF_RDS, AF_QIPCRTR, AF_XDP}) {
    out.push_back(std::to_string(family));
  }
  return out;
}

struct Case {
  Preset preset;
  std::string family;
};

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (const Preset& p : kPresets) {
    out.push_back({p, "unix"});
    for (const std::string& family : refused_families()) out.push_back({p, family});
  }
  return out;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name = std::string(info.param.preset.file) + "_" + info.param.family;
  for (char& c : name) {
    if (c == '.' || c == '-') c = '_';
  }
  return name;
}

class PresetSocketFamilies : public SandboxTest, public ::testing::WithParamInterface<Case> {};

TEST_P(PresetSocketFamilies, OnlyWhatTheJobNeedsOpens) {
  const Case& c = GetParam();
  // The workload policies require cgroup controllers this host may not have; the families do not
  // depend on them.
  const RunResult r =
      run_probe({"socket", c.family}, with_args({"-p", shipped_policy_dir() + "/" + c.preset.file, "--best-effort"}));
  if (c.family == "unix" && c.preset.unix_sockets) {
    EXPECT_TRUE(ProbeOk(r));
    return;
  }
  switch (c.preset.refusal) {
    case Refusal::kEafnosupport:
      EXPECT_TRUE(ProbeDenied(r));
      EXPECT_EQ(first_line(r.out), "EAFNOSUPPORT") << r.describe();
      break;
    case Refusal::kEacces:
      EXPECT_TRUE(ProbeDenied(r));
      EXPECT_EQ(first_line(r.out), "EACCES") << r.describe();
      break;
    case Refusal::kKill: EXPECT_TRUE(KilledBySeccomp(r, "socket")); break;
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, PresetSocketFamilies, ::testing::ValuesIn(all_cases()), case_name);

// `--net host` is the one way to inet sockets from a shipped policy; netlink, vsock and the
// rest stay refused.
TEST_F(SandboxTest, NetHostAddsInetOnly) {
  for (const char* family : {"inet", "inet6", "unix"}) {
    EXPECT_TRUE(ProbeOk(run_probe({"socket", family}, with_args({"--net", "host"})))) << family;
  }
  for (const char* family : {"netlink", "vsock", "packet"}) {
    const RunResult r = run_probe({"socket", family}, with_args({"--net", "host"}));
    EXPECT_EQ(first_line(r.out), "EAFNOSUPPORT") << family << "\n" << r.describe();
  }
}

}  // namespace
}  // namespace integ
