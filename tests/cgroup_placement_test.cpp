// Where job leaves go (host::place_cgroup, docs/cgroups.md "Where the leaves go"), against a fake
// cgroupfs in a temp dir: systemd's delegation mark (the user.delegate extended attribute, which
// the owner of a directory may set on most file systems), ownership, cgroup namespaces, and the
// shared <cgroup2>/confine parent only for root outside any delegated subtree. Then the launcher's
// side of one new shape: confine in a leaf of the delegated cgroup (DelegateSubgroup=).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "confine/cgroup.h"
#include "confine/host.h"

namespace fs = std::filesystem;

namespace confine::host {
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void put(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

class Placement : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/confine-fakeplace-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    mount_ = pattern;
    // The user of the rootless cases: this process's own uid, or a made-up one when run as root
    // (root would take the root branch), who then gets the fake tree by chown.
    user_ = ::geteuid() == 0 ? 12345 : ::geteuid();
  }
  void TearDown() override { fs::remove_all(mount_); }

  // A cgroup directory with the files delegation is judged by.
  fs::path cgroup(const std::string& path) {
    const fs::path dir = mount_ / path.substr(1);
    fs::create_directories(dir);
    put(dir / "cgroup.procs", "");
    put(dir / "cgroup.subtree_control", "");
    return dir;
  }
  void mark(const fs::path& dir) {
    ASSERT_EQ(::setxattr(dir.c_str(), "user.delegate", "1", 1, 0), 0)
        << "setxattr user.delegate on " << dir << ": " << std::strerror(errno);
  }
  // As systemd's Delegate=yes leaves a cgroup for an unprivileged user.
  void give_to_user(const fs::path& dir) {
    if (::geteuid() != 0) return;  // already ours
    for (const fs::path& p : {dir, dir / "cgroup.procs", dir / "cgroup.subtree_control"}) {
      ASSERT_EQ(::chown(p.c_str(), user_, user_), 0) << p;
    }
  }
  CgroupPlacement place(uid_t euid, const std::string& own, bool initial_namespace = true,
                        const std::string& override_parent = "") const {
    CgroupView view;
    view.euid = euid;
    view.mount = mount_.string();
    view.own = own;
    view.initial_cgroup_namespace = initial_namespace;
    view.override_parent = override_parent;
    return place_cgroup(view);
  }
  std::string at(const std::string& path) const { return (mount_ / path.substr(1)).string(); }

  fs::path mount_;
  uid_t user_ = 0;
};

TEST_F(Placement, RootInItsOwnDelegatedCgroupNestsThere) {
  mark(cgroup("/system.slice/convert.service"));
  const auto p = place(0, "/system.slice/convert.service");
  EXPECT_EQ(p.parent, at("/system.slice/convert.service"));
  EXPECT_NE(p.source.find("delegated subtree: confine's own cgroup"), std::string::npos) << p.source;
}

TEST_F(Placement, RootInALeafOfADelegatedCgroupNestsBesideTheLeaf) {
  // DelegateSubgroup=main: systemd runs the service's processes in <unit>/main, and the unit's
  // cgroup (marked) has no process of its own, so controllers can be enabled there.
  mark(cgroup("/system.slice/convert.service"));
  cgroup("/system.slice/convert.service/main");
  const auto p = place(0, "/system.slice/convert.service/main");
  EXPECT_EQ(p.parent, at("/system.slice/convert.service"));
  EXPECT_NE(p.source.find("the cgroup above confine's /system.slice/convert.service/main"), std::string::npos)
      << p.source;
}

TEST_F(Placement, AMarkFurtherUpBelongsToAnotherManagersUnit) {
  // user@1000.service is delegated to the user's systemd; a scope below its app.slice is not
  // confine's to nest in unless it is marked itself.
  mark(cgroup("/user.slice/user-1000.slice/user@1000.service"));
  cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/run-u7.scope");
  const auto p = place(0, "/user.slice/user-1000.slice/user@1000.service/app.slice/run-u7.scope");
  EXPECT_EQ(p.parent, at("/confine"));
  EXPECT_EQ(p.source, kCgroupSharedSource);
}

TEST_F(Placement, RootOutsideAnyDelegatedSubtreeUsesTheSharedParent) {
  cgroup("/system.slice/cron.service");
  EXPECT_EQ(place(0, "/system.slice/cron.service").parent, at("/confine"));
  EXPECT_EQ(place(0, "/").parent, at("/confine"));  // the host's root cgroup, as on this machine
}

TEST_F(Placement, TheOverrideWinsForRootAndIsIgnoredOtherwise) {
  mark(cgroup("/system.slice/convert.service"));
  const auto p = place(0, "/system.slice/convert.service", true, at("/custom"));
  EXPECT_EQ(p.parent, at("/custom"));
  EXPECT_EQ(p.source, kCgroupOverrideSource);
  const fs::path own = cgroup("/user.slice/app.scope");
  give_to_user(own);
  EXPECT_EQ(place(user_, "/user.slice/app.scope", true, at("/custom")).parent, at("/user.slice/app.scope"));
}

TEST_F(Placement, TheRootOfAContainersCgroupNamespaceIsItsOwn) {
  // Inside a container with its own cgroup namespace, "/" is the container's subtree.
  const auto p = place(0, "/", /*initial_namespace=*/false);
  EXPECT_EQ(p.parent, mount_.string());
  EXPECT_EQ(p.source, "the root of this cgroup namespace");
  // The same path in the host's namespace is the host's root: the shared parent then.
  EXPECT_EQ(place(0, "/", true).parent, at("/confine"));
}

TEST_F(Placement, WithoutRootADelegationIsAnOwnedCgroup) {
  const fs::path scope = cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope");
  // Not this user's: nothing, whatever the mark says.
  mark(scope);
  give_to_user(scope);
  EXPECT_EQ(place(user_ + 1, "/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope").parent, "");
  EXPECT_EQ(place(user_, "/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope").parent,
            scope.string());
  // Owned but unmarked (a manager that only chowns) still counts, as before marks existed.
  const fs::path plain = cgroup("/user.slice/plain.scope");
  give_to_user(plain);
  const auto p = place(user_, "/user.slice/plain.scope");
  EXPECT_EQ(p.parent, plain.string());
  EXPECT_EQ(p.source, "own cgroup, delegated to uid " + std::to_string(user_));
  // Never the root cgroup, never the shared parent.
  EXPECT_EQ(place(user_, "/").parent, "");
}

TEST_F(Placement, WithoutRootALeafOfAMarkedOwnedCgroupNestsBesideIt) {
  const fs::path unit = cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/convert.service");
  mark(unit);
  give_to_user(unit);
  const fs::path leaf = cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/convert.service/main");
  give_to_user(leaf);
  EXPECT_EQ(place(user_, "/user.slice/user-1000.slice/user@1000.service/app.slice/convert.service/main").parent,
            unit.string());
}

TEST_F(Placement, NoMountNoCgroup) {
  CgroupView view;
  view.euid = 0;
  view.own = "/system.slice/x.service";
  EXPECT_EQ(place_cgroup(view).parent, "");
}

TEST_F(Placement, SystemdsTrustedMarkCountsToo) {
  // The attribute systemd prefers; only root may set or read trusted.*.
  if (::geteuid() != 0) {
    const char* all = std::getenv("CONFINE_REQUIRE_ALL");
    if (all != nullptr && std::string(all) == "1") FAIL() << "CONFINE_REQUIRE_ALL=1: needs root (trusted.* xattrs)";
    GTEST_SKIP() << "needs root (trusted.* xattrs)";
  }
  const fs::path dir = cgroup("/system.slice/trusted.service");
  EXPECT_FALSE(delegation_marked(dir.string()));
  ASSERT_EQ(::setxattr(dir.c_str(), "trusted.delegate", "1", 1, 0), 0) << std::strerror(errno);
  EXPECT_TRUE(delegation_marked(dir.string()));
  EXPECT_EQ(place(0, "/system.slice/trusted.service").parent, dir.string());
  // "0" is no delegation.
  ASSERT_EQ(::setxattr(dir.c_str(), "trusted.delegate", "0", 1, 0), 0);
  EXPECT_FALSE(delegation_marked(dir.string()));
}

// The launcher's half of the leaf shape: confine in <unit>/main, the job's leaf beside it in
// <unit>, controllers enabled in <unit> only, and no supervisor cgroup (confine is already out of
// the unit's cgroup).
TEST_F(Placement, BesideALeafConfineStaysWhereItIs) {
  put(mount_ / "cgroup.subtree_control", "memory pids\n");
  const fs::path unit = cgroup("/system.slice/convert.service");
  put(mount_ / "system.slice" / "cgroup.subtree_control", "memory pids\n");
  const fs::path main = cgroup("/system.slice/convert.service/main");
  put(main / "cgroup.procs", std::to_string(::getpid()) + "\n");
  auto leaf = cgroup::Leaf::create(unit.string(), {"memory", "pids"});
  ASSERT_TRUE(leaf) << leaf.error().render();
  EXPECT_EQ(fs::path(leaf->path()).parent_path(), unit);
  EXPECT_FALSE(fs::exists(unit / "supervisor"));
  EXPECT_EQ(slurp(unit / "cgroup.subtree_control"), "+memory +pids");
  EXPECT_EQ(slurp(mount_ / "system.slice" / "cgroup.subtree_control"), "memory pids\n");
  ASSERT_TRUE(leaf->remove());
  EXPECT_TRUE(fs::exists(unit)) << "the unit's cgroup is not confine's to remove";
}

}  // namespace
}  // namespace confine::host
