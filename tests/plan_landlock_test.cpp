// The Landlock rules the planner compiles from a policy's mounts (plan/landlock.cpp), against
// fake hosts of every ABI: what each kind of mount gets, what the ruleset handles, what the
// report says, and that `required` fails closed. Expected masks are written out from the
// kernel's bit numbers (include/uapi/linux/landlock.h), not from confine's own constants.
#include <gtest/gtest.h>

#include <algorithm>

#include "confine/landlock.h"
#include "confine/plan.h"
#include "plan_fake_host.h"
#include "plan/steps.h"

namespace confine::plan {
namespace {

using namespace testing;

// LANDLOCK_ACCESS_FS_* bit numbers.
constexpr uint64_t bit(int n) { return uint64_t{1} << n; }
constexpr uint64_t kExec = bit(0), kWrite = bit(1), kRead = bit(2), kReadDir = bit(3), kRmDir = bit(4),
                   kRmFile = bit(5), kMkChar = bit(6), kMkDir = bit(7), kMkReg = bit(8), kMkSock = bit(9),
                   kMkFifo = bit(10), kMkBlock = bit(11), kMkSym = bit(12), kRefer = bit(13), kTrunc = bit(14),
                   kIoctl = bit(15);
constexpr uint64_t kRo = kRead | kReadDir | kExec;
constexpr uint64_t kRw = kRo | kWrite | kRmDir | kRmFile | kMkDir | kMkReg | kMkSock | kMkFifo | kMkSym | kRefer | kTrunc;

const report::Protection* find_protection(const Plan& plan, const std::string& name) {
  for (const auto& p : plan.protections) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const MountOp& mount_at(const Plan& plan, const std::string& target) {
  for (const auto& op : plan.mounts) {
    if (op.target == target) return op;
  }
  static const MountOp kNone{};
  ADD_FAILURE() << "no mount at " << target;
  return kNone;
}

// The default-like policy plus a read-write job directory, a read-write file, a mask and a
// recreated symlink: one mount of every kind.
policy::Policy every_kind_of_mount() {
  auto policy = default_like_policy();
  policy.filesystem.rw = {rule("/jobs/42", 30), rule("/etc/passwd", 30)};
  policy.filesystem.deny = {rule("/usr/share/secrets", 29), rule("/usr/bin/README", 29)};
  return policy;
}

Plan plan_on(const policy::Policy& policy, int abi, Caller caller = Caller::kRoot) {
  auto host = fake_host(debian_tree(), caller);
  host.landlock_abi = abi;
  auto plan = make_plan(policy, request({"echo", "hi"}), host);
  EXPECT_TRUE(plan) << (plan ? "" : plan.error().render());
  return plan ? *plan : Plan{};
}

struct AbiCase {
  int kernel_abi;
  policy::NetworkMode network;
  int used_abi;
  uint64_t handled_fs;
  uint64_t handled_net;  // LANDLOCK_ACCESS_NET_BIND_TCP = 1, CONNECT_TCP = 2
  uint64_t scoped;       // LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET = 1, SIGNAL = 2
};

class LandlockAbi : public ::testing::TestWithParam<AbiCase> {};

TEST_P(LandlockAbi, HandlesWhatTheAbiHasAndNothingElse) {
  const AbiCase& c = GetParam();
  auto policy = every_kind_of_mount();
  policy.network.mode = {c.network, at(36)};
  const Plan plan = plan_on(policy, c.kernel_abi);
  ASSERT_TRUE(plan.landlock.has_value());
  const LandlockRuleset& ll = *plan.landlock;
  EXPECT_EQ(ll.abi, c.used_abi);
  EXPECT_EQ(ll.handled_fs, c.handled_fs);
  EXPECT_EQ(ll.handled_net, c.handled_net);
  EXPECT_EQ(ll.scoped, c.scoped);
  EXPECT_EQ(ll.root_access, kReadDir);
  // Every rule within what the ruleset handles, and a file's rule only with file rights: the
  // kernel refuses anything else with EINVAL, which would be a setup error at every run.
  for (const MountOp& op : plan.mounts) {
    SCOPED_TRACE(op.target);
    EXPECT_EQ(op.landlock_access & ~ll.handled_fs, 0U);
    if (!op.source_is_dir) {
      EXPECT_EQ(op.landlock_access & ~(kExec | kWrite | kRead | kTrunc | kIoctl), 0U);
    }
  }
  EXPECT_EQ(ll.dev_node_access & ~ll.handled_fs, 0U);
  const auto* protection = find_protection(plan, "landlock");
  ASSERT_NE(protection, nullptr);
  EXPECT_EQ(protection->status, "enforced");
  EXPECT_EQ(protection->mechanism, "Landlock ABI " + std::to_string(c.used_abi) + " (landlock_restrict_self)");
}

constexpr uint64_t kAbi1 = bit(13) - 1;
constexpr uint64_t kAbi2 = kAbi1 | kRefer;
constexpr uint64_t kAbi3 = kAbi2 | kTrunc;
constexpr uint64_t kAbi5 = kAbi3 | kIoctl;
using policy::NetworkMode;
INSTANTIATE_TEST_SUITE_P(
    Table, LandlockAbi,
    ::testing::Values(AbiCase{1, NetworkMode::kNone, 1, kAbi1, 0, 0}, AbiCase{2, NetworkMode::kNone, 2, kAbi2, 0, 0},
                      AbiCase{3, NetworkMode::kNone, 3, kAbi3, 0, 0}, AbiCase{4, NetworkMode::kNone, 4, kAbi3, 3, 0},
                      AbiCase{4, NetworkMode::kHost, 4, kAbi3, 0, 0}, AbiCase{5, NetworkMode::kNone, 5, kAbi5, 3, 0},
                      AbiCase{6, NetworkMode::kNone, 6, kAbi5, 3, 3}, AbiCase{6, NetworkMode::kHost, 6, kAbi5, 0, 2},
                      AbiCase{7, NetworkMode::kNone, 7, kAbi5, 3, 3}, AbiCase{7, NetworkMode::kHost, 7, kAbi5, 0, 2},
                      // A kernel newer than confine: used at the ABI confine knows.
                      AbiCase{9, NetworkMode::kNone, 7, kAbi5, 3, 3}),
    [](const auto& test) {
      return "Abi" + std::to_string(test.param.kernel_abi) +
             (test.param.network == NetworkMode::kNone ? "NetworkNone" : "NetworkHost");
    });

struct MountCase {
  const char* target;
  uint64_t abi7;  // the rule at ABI 7
  uint64_t abi1;  // the rule at ABI 1 (no refer, truncate or device ioctl)
};

class LandlockMountRights : public ::testing::TestWithParam<MountCase> {};

TEST_P(LandlockMountRights, EachKindOfMountGetsItsOwnRights) {
  const MountCase& c = GetParam();
  EXPECT_EQ(mount_at(plan_on(every_kind_of_mount(), 7), c.target).landlock_access, c.abi7);
  EXPECT_EQ(mount_at(plan_on(every_kind_of_mount(), 1), c.target).landlock_access, c.abi1);
}

INSTANTIATE_TEST_SUITE_P(
    Table, LandlockMountRights,
    ::testing::Values(
        // Read-only binds read and execute; a file gets no directory right.
        MountCase{"/usr", kRo, kRo}, MountCase{"/etc/ld.so.cache", kRead | kExec, kRead | kExec},
        // Read-write binds and tmpfs: every file operation but device nodes.
        MountCase{"/jobs/42", kRw, kRw & ~(kRefer | kTrunc)},
        MountCase{"/etc/passwd", kRead | kExec | kWrite | kTrunc, kRead | kExec | kWrite},
        MountCase{"/tmp", kRw, kRw & ~(kRefer | kTrunc)},
        // /dev: list it, and its devices' rights; /proc: read and write, no execute.
        MountCase{"/dev", kReadDir | kRead | kWrite | kIoctl, kReadDir | kRead | kWrite},
        MountCase{"/proc", kRead | kReadDir | kWrite | kTrunc, kRead | kReadDir | kWrite},
        // No rule of their own: recreated symlinks resolve into other mounts, and masks cannot be
        // expressed in Landlock (they inherit their parent's rule; the mount does the denying).
        MountCase{"/bin", 0, 0}, MountCase{"/usr/share/secrets", 0, 0}, MountCase{"/usr/bin/README", 0, 0}),
    [](const auto& test) {
      std::string name = test.param.target;
      std::replace_if(name.begin(), name.end(), [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); }, '_');
      return "At" + name;
    });

TEST(LandlockPlan, NoRightCreatesDevicesOrReachesBeyondTheMounts) {
  const Plan plan = plan_on(every_kind_of_mount(), 7);
  for (const MountOp& op : plan.mounts) {
    SCOPED_TRACE(op.target);
    EXPECT_EQ(op.landlock_access & (kMkChar | kMkBlock), 0U);
  }
  // The device nodes themselves: read, write, ioctl; nothing else.
  EXPECT_EQ(plan.landlock->dev_node_access, kRead | kWrite | kIoctl);
  // Without a /dev there are no device nodes to allow.
  auto no_dev = every_kind_of_mount();
  no_dev.filesystem.dev = from_file(false, 32);
  EXPECT_EQ(plan_on(no_dev, 7).landlock->dev_node_access, 0U);
}

TEST(LandlockPlan, RequiredWithoutLandlockFailsClosedNamingTheKeyAndTheFix) {
  auto policy = default_like_policy();
  policy.enforcement.landlock = from_file(policy::Enforcement::kRequired, 64);
  auto host = fake_host(debian_tree(), Caller::kUser);
  host.landlock_abi = 0;
  const auto plan = make_plan(policy, request({"echo", "hi"}), host);
  ASSERT_FALSE(plan);
  const std::string text = plan.error().render();
  EXPECT_EQ(plan.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(text.find("Landlock is not available on this host (enforcement.landlock = required at test.toml:64:1)"),
            std::string::npos)
      << text;
  EXPECT_NE(plan.error().hint.find("lsm="), std::string::npos) << plan.error().hint;
  EXPECT_NE(plan.error().hint.find("enforcement.landlock = \"best-effort\""), std::string::npos) << plan.error().hint;
  // The same host with any ABI plans.
  host.landlock_abi = 1;
  EXPECT_TRUE(make_plan(policy, request({"echo", "hi"}), host));
}

TEST(LandlockPlan, BestEffortWithoutLandlockRunsAndSaysSo) {
  const Plan plan = plan_on(every_kind_of_mount(), 0, Caller::kUser);
  EXPECT_FALSE(plan.landlock.has_value());
  for (const MountOp& op : plan.mounts) EXPECT_EQ(op.landlock_access, 0U) << op.target;
  const auto* protection = find_protection(plan, "landlock");
  ASSERT_NE(protection, nullptr);
  EXPECT_EQ(protection->status, "best_effort_skipped");
  EXPECT_TRUE(std::any_of(plan.warnings.begin(), plan.warnings.end(), [](const std::string& w) {
    return w.find("Landlock is not available on this host") != std::string::npos &&
           w.find("best-effort") != std::string::npos;
  }));
}

TEST(LandlockPlan, TheReportSaysWhatTheLayerCovers) {
  auto detail = [](int abi, NetworkMode network) {
    auto policy = every_kind_of_mount();
    policy.network.mode = {network, at(36)};
    const Plan plan = plan_on(policy, abi);
    const auto* p = find_protection(plan, "landlock");
    return p == nullptr ? std::string() : p->detail;
  };
  // 3 read-only paths: /usr, /etc/ld.so.cache, /etc/alternatives; 2 read-write; /tmp /dev /proc.
  EXPECT_EQ(detail(7, NetworkMode::kNone),
            "3 read-only paths, 2 read-write paths, 3 sandbox mounts; nothing else opens; TCP bind and connect "
            "denied; signals and abstract unix sockets scoped to the sandbox");
  EXPECT_EQ(detail(7, NetworkMode::kHost),
            "3 read-only paths, 2 read-write paths, 3 sandbox mounts; nothing else opens; TCP not handled "
            "(network.mode = host); signals scoped to the sandbox");
  EXPECT_EQ(detail(3, NetworkMode::kNone),
            "3 read-only paths, 2 read-write paths, 3 sandbox mounts; nothing else opens; TCP not handled before "
            "ABI 4; no IPC scoping before ABI 6");
  EXPECT_NE(detail(1, NetworkMode::kNone).find("no rename or link across directories (ABI 1)"), std::string::npos);
}

TEST(LandlockPlan, AbiOneWarnsAboutRenamesAcrossDirectories) {
  const Plan plan = plan_on(every_kind_of_mount(), 1);
  EXPECT_TRUE(std::any_of(plan.warnings.begin(), plan.warnings.end(), [](const std::string& w) {
    return w.find("Landlock ABI 1") != std::string::npos && w.find("EXDEV") != std::string::npos;
  }));
  const Plan modern = plan_on(every_kind_of_mount(), 2);
  EXPECT_TRUE(std::none_of(modern.warnings.begin(), modern.warnings.end(),
                           [](const std::string& w) { return w.find("Landlock") != std::string::npos; }));
}

TEST(LandlockPlan, TheProtectionSitsBetweenNoNewPrivsAndSeccomp) {
  // The report lists protections in the order they are applied: Landlock needs no_new_privs and
  // comes before the target's seccomp filter.
  const Plan plan = plan_on(every_kind_of_mount(), 7);
  std::vector<std::string> names;
  for (const auto& p : plan.protections) names.push_back(p.name);
  const auto at_name = [&](const char* n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  EXPECT_EQ(at_name("landlock"), at_name("no_new_privs") + 1);
  EXPECT_EQ(at_name("seccomp"), at_name("landlock") + 1);
}

TEST(LandlockPlan, RightsHaveTheKernelsNames) {
  EXPECT_EQ(steps::landlock_rights_text(kRo), "execute,read_file,read_dir");
  EXPECT_EQ(steps::landlock_rights_text(kIoctl | kRefer | kTrunc), "refer,truncate,ioctl_dev");
  EXPECT_EQ(steps::landlock_rights_text(0), "none");
}

}  // namespace
}  // namespace confine::plan
