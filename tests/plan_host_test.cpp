// host::probe() on this machine (read-only), and its parsers on fixed text.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "confine/host.h"

namespace confine::host {
namespace {

TEST(HostProbe, ThisMachine) {
  const plan::HostFacts facts = probe();
  EXPECT_EQ(facts.euid, geteuid());
  EXPECT_EQ(facts.egid, getegid());
  EXPECT_FALSE(facts.kernel_release.empty());
  // Taken from uname(2); the same string /proc/sys/kernel/osrelease holds (the UTS namespace's).
  const auto osrelease = read_text("/proc/sys/kernel/osrelease");
  ASSERT_TRUE(osrelease.has_value());
  EXPECT_EQ(facts.kernel_release, words(*osrelease).front());
  // Every host this runs on has a cgroup2 mount (pure v2, or hybrid with /sys/fs/cgroup/unified).
  EXPECT_FALSE(facts.cgroup2_mount.empty());
  EXPECT_GE(facts.landlock_abi, 0);
  ASSERT_TRUE(facts.file_kind && facts.read_link && facts.executable);
  EXPECT_EQ(facts.file_kind("/"), plan::FileKind::kDirectory);
  EXPECT_EQ(facts.file_kind("/proc/self"), plan::FileKind::kSymlink);
  EXPECT_EQ(facts.file_kind("/dev/null"), plan::FileKind::kCharDevice);
  EXPECT_EQ(facts.file_kind("/no/such/path"), plan::FileKind::kMissing);
  EXPECT_EQ(facts.read_link("/proc/self"), std::to_string(getpid()));  // procfs reports size 0
  EXPECT_FALSE(facts.read_link("/").has_value());
  EXPECT_TRUE(facts.executable("/bin/sh"));  // through /bin -> usr/bin on merged-/usr systems
  EXPECT_FALSE(facts.executable("/usr/bin"));  // a directory's x bit is no exec bit
}

// executable() asks for any execute bit on a regular file, not access(2) for the caller.
TEST(HostProbe, ExecutableChecksModeBits) {
  char dir_template[] = "/tmp/confine-plan-host-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string plain = dir + "/plain", group_exec = dir + "/group-exec", link = dir + "/link";
  for (const auto& [path, mode] : {std::pair{plain, 0644}, std::pair{group_exec, 0610}}) {
    const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, static_cast<mode_t>(mode));
    ASSERT_GE(fd, 0);
    close(fd);
    ASSERT_EQ(chmod(path.c_str(), static_cast<mode_t>(mode)), 0);  // umask-proof
  }
  ASSERT_EQ(symlink("group-exec", link.c_str()), 0);
  const plan::HostFacts facts = probe();
  EXPECT_FALSE(facts.executable(plain));
  EXPECT_TRUE(facts.executable(group_exec));
  EXPECT_TRUE(facts.executable(link));  // followed: execve would follow it too
  EXPECT_EQ(facts.file_kind(link), plan::FileKind::kSymlink);
  EXPECT_EQ(facts.read_link(link), "group-exec");
  EXPECT_EQ(facts.file_kind(plain), plan::FileKind::kRegular);
  for (const auto& path : {link, plain, group_exec}) EXPECT_EQ(unlink(path.c_str()), 0);
  EXPECT_EQ(rmdir(dir.c_str()), 0);
}

TEST(HostProbe, Cgroup2MountFromMountinfo) {
  const std::string hybrid =
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(cgroup2_mount_from_mountinfo(hybrid), "/sys/fs/cgroup/unified");
  const std::string pure =
      "40 30 0:37 / /mnt/with\\040space rw shared:9 - cgroup2 cgroup2 rw\n"
      "41 30 0:38 / /sys/fs/cgroup rw,nosuid shared:10 master:1 - cgroup2 cgroup2 rw,nsdelegate\n";
  EXPECT_EQ(cgroup2_mount_from_mountinfo(pure), "/sys/fs/cgroup");
  EXPECT_EQ(cgroup2_mount_from_mountinfo(pure.substr(0, pure.find('\n') + 1)), "/mnt/with space");
  EXPECT_EQ(cgroup2_mount_from_mountinfo("34 30 0:31 / /x rw - cgroup cgroup rw\n"), "");
  // The last line needs no newline; a line with too few fields before " - " is no mount.
  EXPECT_EQ(cgroup2_mount_from_mountinfo("40 30 0:37 / - cgroup2 cgroup2 rw\n40 30 0:37 / /c rw - cgroup2 x rw"), "/c");
  // The fifth field, whatever whitespace separates them; /sys/fs/cgroup wins over an earlier one.
  EXPECT_EQ(cgroup2_mount_from_mountinfo("1 2 0:3\t/  /first rw - cgroup2 c rw\n1 2 0:3 / /sys/fs/cgroup rw -  cgroup2 c rw"),
            "/sys/fs/cgroup");
}

TEST(HostProbe, UnifiedCgroupFromProc) {
  EXPECT_EQ(unified_cgroup_from_proc("4:memory:/a\n0::/user.slice/app.scope\n"), "/user.slice/app.scope");
  EXPECT_EQ(unified_cgroup_from_proc("1:cpu:/\n"), "");
  EXPECT_EQ(unified_cgroup_from_proc("0::/last-line-without-newline"), "/last-line-without-newline");
  EXPECT_EQ(unified_cgroup_from_proc("1:name=0::/x\n"), "");  // "0::" only at the start of a line
  EXPECT_EQ(words(" memory  pids\ncpu\n"), (std::vector<std::string>{"memory", "pids", "cpu"}));
  // The separators `std::istream >> word` skips in the classic locale, and nothing else.
  EXPECT_EQ(words("\ta\vb\fc\rd\n"), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(words(std::string_view("x\0y", 3)), (std::vector<std::string>{std::string("x\0y", 3)}));
  EXPECT_TRUE(words(" \n\t").empty());
}

}  // namespace
}  // namespace confine::host
