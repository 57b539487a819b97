// plan_resources: rlimit fallbacks for best-effort limits whose cgroup controller is missing,
// limits.memory_high as memory.high, and the rootless delegation fix in warnings and errors.
// Also host::delegated_to (the rootless probe's ownership check) against a temp dir.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "confine/host.h"
#include "confine/plan.h"
#include "plan/steps.h"

namespace confine::plan {
namespace {

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "in: " << (haystack)

constexpr uint64_t kMiB = uint64_t{1} << 20;

policy::Origin at(uint32_t line) { return {"test.toml", line, 1}; }

class Resources : public ::testing::Test {
 protected:
  void SetUp() override {
    policy.limits.memory_bytes = {512 * kMiB, at(10)};
    policy.limits.pids = {uint64_t{64}, at(11)};
    policy.limits.cpus = {0.5, at(12)};
    policy.enforcement.resources = {policy::Enforcement::kBestEffort, at(20)};
    host.euid = 0;
    host.kernel_release = "6.1.0-13-amd64";
    host.cgroup2_mount = "/sys/fs/cgroup";
    host.cgroup_parent = "/sys/fs/cgroup/confine";
    host.cgroup_controllers = {};  // a cgroup, but no controller delegated
  }

  steps::Resources expect(steps::RlimitFallbacks fallbacks = steps::RlimitFallbacks::kUse) {
    auto r = steps::plan_resources(policy, host, fallbacks);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().render());
    return r ? *r : steps::Resources{};
  }
  Error expect_error(steps::RlimitFallbacks fallbacks = steps::RlimitFallbacks::kUse) {
    auto r = steps::plan_resources(policy, host, fallbacks);
    EXPECT_FALSE(r.has_value());
    return r ? Error{} : r.error();
  }

  policy::Policy policy;
  HostFacts host;
};

const Rlimit* find_rlimit(const steps::Resources& r, int resource) {
  for (const auto& l : r.fallback_rlimits) {
    if (l.resource == resource) return &l;
  }
  return nullptr;
}

bool has_warning(const steps::Resources& r, const std::string& text) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

TEST_F(Resources, MissingPidsFallsBackToNprocOnNewKernels) {
  const auto r = expect();
  const Rlimit* nproc = find_rlimit(r, RLIMIT_NPROC);
  ASSERT_NE(nproc, nullptr);
  EXPECT_EQ(nproc->soft, 64u);
  EXPECT_EQ(nproc->hard, 64u);
  EXPECT_EQ(nproc->name, "RLIMIT_NPROC");
  EXPECT_EQ(r.pids_limit.status, "enforced_fallback");
  EXPECT_EQ(r.pids_limit.mechanism, "rlimit RLIMIT_NPROC (per user namespace)");
  EXPECT_HAS(r.pids_limit.detail, "'pids' controller is not available");
  EXPECT_TRUE(has_warning(r, "limits.pids = 64: no cgroup v2 'pids' controller here; fell back to RLIMIT_NPROC"));
  // The log gets one short line; the report's entry has the whole story.
  EXPECT_HAS(r.pids_limit.detail, "Not covered");
  // No cgroup write for what the host cannot do.
  for (const auto& w : r.writes) EXPECT_NE(w.file, "pids.max");
}

TEST_F(Resources, MissingMemoryFallsBackToAddressSpacePerProcess) {
  const auto r = expect();
  const Rlimit* as = find_rlimit(r, RLIMIT_AS);
  ASSERT_NE(as, nullptr);
  EXPECT_EQ(as->soft, 512 * kMiB);
  EXPECT_EQ(as->hard, 512 * kMiB);
  EXPECT_EQ(r.memory_limit.status, "enforced_fallback");
  EXPECT_EQ(r.memory_limit.mechanism, "rlimit RLIMIT_AS (per process address space)");
  // Honest about what it is: per process, not the job's total.
  EXPECT_HAS(r.memory_limit.detail, "per process, not a job total");
  EXPECT_HAS(r.memory_limit.detail, "Not covered: the job's total");
  EXPECT_TRUE(has_warning(r, "limits.memory = 512M: no cgroup v2 'memory' controller here; fell back to RLIMIT_AS"));
  for (const auto& w : r.warnings) EXPECT_LE(w.size(), 130U) << "a log line, not a paragraph: " << w;
  // Swap has no stand-in.
  EXPECT_EQ(r.swap_limit.status, "best_effort_skipped");
}

TEST_F(Resources, CpusHaveNoFallbackAndSaySo) {
  const auto r = expect();
  EXPECT_EQ(r.cpu_limit.status, "best_effort_skipped");
  EXPECT_HAS(r.cpu_limit.detail, "no fallback");
  EXPECT_TRUE(has_warning(r, "limits.cpus = 50000 100000 not enforced"));
  EXPECT_EQ(find_rlimit(r, RLIMIT_CPU), nullptr);
  EXPECT_EQ(r.fallback_rlimits.size(), 2u);  // NPROC and AS, nothing else
}

TEST_F(Resources, OldKernelGetsNoNprocFallback) {
  for (const char* release : {"5.13.19", "5.10.0-28-amd64", "4.19.0", "", "garbage"}) {
    host.kernel_release = release;
    const auto r = expect();
    EXPECT_EQ(find_rlimit(r, RLIMIT_NPROC), nullptr) << release;
    EXPECT_EQ(r.pids_limit.status, "best_effort_skipped") << release;
    EXPECT_HAS(r.pids_limit.detail, "5.14");
    EXPECT_HAS(r.pids_limit.detail, "no fallback: RLIMIT_NPROC");
    EXPECT_TRUE(has_warning(r, "limits.pids = 64 not enforced")) << release;
    // The memory fallback does not depend on the kernel version.
    EXPECT_NE(find_rlimit(r, RLIMIT_AS), nullptr) << release;
  }
}

TEST_F(Resources, NoCgroupAtAllFallsBackToo) {
  host.cgroup_parent.clear();
  const auto r = expect();
  EXPECT_EQ(r.cgroup_tracking.status, "best_effort_skipped");
  EXPECT_EQ(r.pids_limit.status, "enforced_fallback");
  EXPECT_EQ(r.memory_limit.status, "enforced_fallback");
}

TEST_F(Resources, WithoutPermissionTheProtectionsNeverClaimAFallback) {
  const auto r = expect(steps::RlimitFallbacks::kOff);
  EXPECT_TRUE(r.fallback_rlimits.empty());
  EXPECT_EQ(r.pids_limit.status, "best_effort_skipped");
  EXPECT_EQ(r.memory_limit.status, "best_effort_skipped");
}

TEST_F(Resources, AvailableControllersNeedNoFallback) {
  host.cgroup_controllers = {"memory", "pids", "cpu"};
  const auto r = expect();
  EXPECT_TRUE(r.fallback_rlimits.empty());
  EXPECT_EQ(r.pids_limit.status, "enforced");
  EXPECT_EQ(r.memory_limit.status, "enforced");
  EXPECT_EQ(r.cpu_limit.status, "enforced");
}

TEST_F(Resources, RequiredStillFailsClosedWithoutFallback) {
  policy.enforcement.resources = {policy::Enforcement::kRequired, at(20)};
  const Error e = expect_error();
  EXPECT_EQ(e.code, ErrorCode::kUnsupported);
  EXPECT_HAS(e.message, "limits.pids = 64 needs the cgroup v2 'pids' controller");
  EXPECT_HAS(e.message, "limits.memory = 512M needs the cgroup v2 'memory' controller");
}

// A limit the caller typed is what the caller asked for: under a best-effort policy it still
// fails closed, unless --best-effort was typed too.
TEST_F(Resources, LimitsFromTheCommandLineAreRequiredUnlessBestEffortIsTypedToo) {
  const policy::Origin typed{"<command line>", 0, 0};
  policy.limits.cpus = {};
  policy.limits.cpu_time = {std::chrono::milliseconds(2000), typed};
  host.euid = 1000;
  host.cgroup_parent.clear();
  Error e = expect_error();
  EXPECT_EQ(e.code, ErrorCode::kUnsupported);
  EXPECT_HAS(e.message, "--cpu-time 2000ms needs a cgroup (cpu.stat accounting)");
  EXPECT_HAS(e.message, "a limit given on the command line is required unless --best-effort is given too");
  EXPECT_HAS(e.hint, "add --best-effort to run without it");
  // The file's own limits stay best-effort: only the typed one is named.
  EXPECT_EQ(e.message.find("limits.memory"), std::string::npos) << e.message;

  policy.limits.memory_bytes = {512 * kMiB, typed};
  e = expect_error();
  EXPECT_HAS(e.message, "--memory 512M needs the cgroup v2 'memory' controller");

  // --best-effort typed as well: runs, and says what it could not enforce.
  policy.enforcement.resources = {policy::Enforcement::kBestEffort, typed};
  const auto r = expect();
  EXPECT_EQ(r.cpu_time_limit.status, "best_effort_skipped");
  EXPECT_FALSE(r.cpu_time);
}

TEST_F(Resources, MemoryHighIsWrittenAfterMemoryMax) {
  host.cgroup_controllers = {"memory", "pids", "cpu"};
  policy.limits.memory_high_bytes = {384 * kMiB, at(13)};
  const auto r = expect();
  std::vector<std::string> files;
  for (const auto& w : r.writes) files.push_back(w.file);
  const auto high = std::find(files.begin(), files.end(), "memory.high");
  ASSERT_NE(high, files.end());
  EXPECT_EQ(r.writes[static_cast<size_t>(high - files.begin())].value, std::to_string(384 * kMiB));
  EXPECT_LT(std::find(files.begin(), files.end(), "memory.max"), high);
  EXPECT_EQ(r.memory_high.name, "memory_high");
  EXPECT_EQ(r.memory_high.status, "enforced");
  EXPECT_EQ(r.memory_high.mechanism, "cgroup v2 memory.high");
  EXPECT_EQ(r.memory_high.detail, "384M");
}

TEST_F(Resources, MemoryHighAloneNeedsNoMemoryLimit) {
  host.cgroup_controllers = {"memory"};
  policy.limits.memory_bytes = {std::nullopt, at(10)};
  policy.limits.pids = {};
  policy.limits.cpus = {};
  policy.limits.memory_high_bytes = {256 * kMiB, at(13)};
  const auto r = expect();
  EXPECT_EQ(r.memory_high.status, "enforced");
  EXPECT_EQ(r.memory_limit.status, "not_requested");
}

TEST_F(Resources, MemoryHighHasNoFallback) {
  policy.limits.memory_high_bytes = {256 * kMiB, at(13)};
  const auto r = expect();
  EXPECT_EQ(r.memory_high.status, "best_effort_skipped");
  EXPECT_TRUE(has_warning(r, "limits.memory_high = 256M not enforced"));
  EXPECT_EQ(r.fallback_rlimits.size(), 2u);  // memory_high adds no rlimit
}

TEST_F(Resources, MemoryHighAboveMemoryIsRefused) {
  host.cgroup_controllers = {"memory", "pids", "cpu"};
  policy.limits.memory_high_bytes = {1024 * kMiB, at(13)};
  const Error e = expect_error();
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_HAS(e.message, "limits.memory_high = 1G (test.toml:13:1) is above limits.memory = 512M (test.toml:10:1)");
}

TEST_F(Resources, RootlessWithoutCgroupPrintsTheDelegationFix) {
  host.euid = 1000;
  host.cgroup_parent.clear();
  const auto r = expect();
  EXPECT_TRUE(has_warning(r, "no cgroup for the job: its resources are not tracked"));
  EXPECT_HAS(r.cgroup_tracking.detail, "systemd-run --user --scope -p Delegate=yes confine run ...");

  policy.enforcement.resources = {policy::Enforcement::kRequired, at(20)};
  const Error e = expect_error();
  EXPECT_HAS(e.hint, "systemd-run --user --scope -p Delegate=yes confine run ...");
}

TEST_F(Resources, RootWithoutCgroupDoesNotSuggestSystemdRun) {
  host.cgroup_parent.clear();
  const auto r = expect();
  EXPECT_FALSE(has_warning(r, "systemd-run"));
}

TEST(NprocCountsPerUserns, KernelReleases) {
  const struct {
    const char* release;
    bool expected;
  } cases[] = {{"5.14.0", true},       {"5.14", true},        {"5.15.0-91-generic", true},
               {"6.1.0-13-amd64", true}, {"10.0.1", true},      {"5.13.19", false},
               {"5.4.0", false},        {"4.19.0-25-amd64", false}, {"", false},
               {"5", false},            {"linux", false},      {"5.x", false}};
  for (const auto& c : cases) EXPECT_EQ(steps::nproc_counts_per_userns(c.release), c.expected) << c.release;
}

// host::delegated_to against a temp directory laid out as systemd's Delegate=yes leaves a scope.
class Delegated : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/confine-deleg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);
    std::ofstream(dir_ / "cgroup.procs").put('\n');
    std::ofstream(dir_ / "cgroup.subtree_control").put('\n');
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(Delegated, OwnedAndWritableIsDelegated) { EXPECT_TRUE(host::delegated_to(dir_, geteuid())); }

TEST_F(Delegated, AnotherOwnerIsNot) { EXPECT_FALSE(host::delegated_to(dir_, geteuid() + 1)); }

TEST_F(Delegated, ReadOnlyControlFileIsNot) {
  ::chmod((dir_ / "cgroup.subtree_control").c_str(), 0444);
  EXPECT_FALSE(host::delegated_to(dir_, geteuid()));
}

TEST_F(Delegated, MissingProcsFileIsNot) {
  std::filesystem::remove(dir_ / "cgroup.procs");
  EXPECT_FALSE(host::delegated_to(dir_, geteuid()));
}

TEST_F(Delegated, AFileIsNoCgroup) {
  EXPECT_FALSE(host::delegated_to((dir_ / "cgroup.procs").string(), geteuid()));
}

}  // namespace
}  // namespace confine::plan
