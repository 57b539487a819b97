// The policy writer, as tables: observations in, TOML out; every output loads with the real
// policy loader without a diagnostic.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "confine/learn.h"
#include "confine/policy.h"
#include "confine/seccomp.h"

namespace confine::learn {
namespace {

PathRecord file(std::string path, Access access = Access::kRead, uint64_t count = 1) {
  PathRecord r;
  r.path = std::move(path);
  r.access = access;
  r.in_sandbox = true;
  r.on_host = true;
  r.count = count;
  r.by = "/usr/bin/tool";
  return r;
}

Observations basic() {
  Observations o;
  o.command = {"/usr/bin/tool", "in.txt"};
  o.outcome = "ok";
  o.syscalls = {{"openat", 12}, {"execve", 1}, {"exit_group", 1}, {"socket", 1}};
  o.socket_families = {1};
  o.wall_time_us = 3'000'000;
  o.cpu_time_us = 1'000'000;
  o.memory_peak_bytes = 100ULL << 20;
  o.pids_peak = 3;
  return o;
}

// Writes the text to a temp file and loads it with the real loader.
policy::LoadResult load_text(const std::string& text) {
  char name[] = "/tmp/confine-learn-test-XXXXXX.toml";
  const int fd = ::mkstemps(name, 5);
  EXPECT_GE(fd, 0);
  ::close(fd);
  {
    std::ofstream out(name);
    out << text;
  }
  auto loaded = policy::load(name);
  ::unlink(name);
  return loaded;
}

std::vector<std::string> ro_paths(const policy::Policy& p) {
  std::vector<std::string> out;
  for (const auto& r : p.filesystem.ro) out.push_back(r.path);
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(LearnWriter, WritesAPolicyTheLoaderAcceptsWithAnAllowList) {
  Observations o = basic();
  o.paths = {file("/usr/bin/tool", Access::kExec), file("/usr/share/tool/a.conf")};
  const Written w = write_policy(o, {});
  auto loaded = load_text(w.toml);
  for (const auto& d : loaded.diagnostics) ADD_FAILURE() << d.str() << "\n" << w.toml;
  ASSERT_TRUE(loaded.ok());
  const policy::Policy& p = *loaded.policy;
  EXPECT_EQ(ro_paths(p), (std::vector<std::string>{"/usr/bin/tool", "/usr/share/tool/a.conf"}));
  EXPECT_EQ(p.seccomp.default_action.value, policy::SeccompAction::kErrno);
  EXPECT_EQ(p.seccomp.errno_value.value, ENOSYS);
  ASSERT_EQ(p.seccomp.rules.size(), 2U);
  const auto& allowed = p.seccomp.rules[0].syscalls;
  // Kernel attack surface is killed and named, as in the shipped policies, not quietly ENOSYS.
  EXPECT_EQ(p.seccomp.rules[1].action, policy::SeccompAction::kKill);
  EXPECT_EQ(p.seccomp.rules[1].syscalls, (std::vector<std::string>{"@default-deny"}));
  EXPECT_EQ(p.seccomp.rules[0].action, policy::SeccompAction::kAllow);
  EXPECT_TRUE(contains(allowed, "openat"));
  EXPECT_TRUE(contains(allowed, "read"));  // the baseline
  EXPECT_FALSE(contains(allowed, "ptrace"));
  EXPECT_EQ(p.network.socket_families.value, (std::vector<std::string>{"unix"}));
  EXPECT_NE(w.toml.find("# read by /usr/bin/tool, 1 time"), std::string::npos) << w.toml;
}

TEST(LearnWriter, ADefaultDenyCallTheJobUsedStaysAllowed) {
  Observations o = basic();
  o.syscalls["ptrace"] = 2;  // in @default-deny
  const Written w = write_policy(o, {});
  auto loaded = load_text(w.toml);
  ASSERT_TRUE(loaded.ok()) << w.toml;
  const policy::Policy& p = *loaded.policy;
  ASSERT_EQ(p.seccomp.rules.size(), 2U) << w.toml;
  EXPECT_TRUE(contains(p.seccomp.rules[0].syscalls, "ptrace"));
  EXPECT_EQ(p.seccomp.rules[1].action, policy::SeccompAction::kKill);
  EXPECT_FALSE(contains(p.seccomp.rules[1].syscalls, "ptrace")) << w.toml;
  EXPECT_TRUE(contains(p.seccomp.rules[1].syscalls, "bpf")) << w.toml;
}

TEST(LearnWriter, AFewFilesOfABigDirectoryStayFiles) {
  // Python lists dist-packages and reads its two .pth files: with the directory's size known
  // (learn counts it on the host), the two files are listed, not the whole of it.
  Observations o = basic();
  PathRecord dir = file("/usr/lib/python3/dist-packages", Access::kList);
  dir.directory = true;
  PathRecord fonts = file("/usr/share/fonts/cmap", Access::kList);  // listed, nothing used
  fonts.directory = true;
  o.paths = {dir, fonts, file("/usr/lib/python3/dist-packages/a.pth"), file("/usr/lib/python3/dist-packages/b.pth")};
  for (int i = 0; i < 5; ++i) o.paths.push_back(file("/usr/lib/x86_64-linux-gnu/lib" + std::to_string(i) + ".so", Access::kMap));
  WriteOptions options;
  options.directory_entries = {{"/usr/lib/python3/dist-packages", 120}, {"/usr/lib/x86_64-linux-gnu", 2000}, {"/usr/share/fonts/cmap", 3}};
  const Written w = write_policy(o, options);
  auto loaded = load_text(w.toml);
  ASSERT_TRUE(loaded.ok()) << w.toml;
  const auto ro = ro_paths(*loaded.policy);
  EXPECT_TRUE(contains(ro, "/usr/lib/python3/dist-packages/a.pth")) << w.toml;
  EXPECT_FALSE(contains(ro, "/usr/lib/python3/dist-packages")) << w.toml;
  EXPECT_TRUE(contains(ro, "/usr/lib/x86_64-linux-gnu/lib0.so")) << w.toml;
  EXPECT_FALSE(contains(ro, "/usr/lib/x86_64-linux-gnu")) << w.toml;
  EXPECT_FALSE(contains(ro, "/usr/share/fonts/cmap")) << w.toml;
  // Without the sizes (or for a directory mostly used) the directory is the result, as before.
  options.directory_entries = {{"/usr/lib/x86_64-linux-gnu", 6}};
  auto whole = load_text(write_policy(o, options).toml);
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(contains(ro_paths(*whole.policy), "/usr/lib/x86_64-linux-gnu"));
  EXPECT_TRUE(contains(ro_paths(*whole.policy), "/usr/lib/python3/dist-packages"));
}

TEST(LearnWriter, PathsThatExistNowhereAreCountedPastACap) {
  // LibreOffice probes thousands of paths that exist nowhere; kept whole, its learn-data made a
  // learned policy larger than the loader reads (1 MiB).
  Observations o = basic();
  for (size_t i = 0; i < kMaxMissingRecorded + 10; ++i) {
    PathRecord r = file("/usr/share/nowhere/" + std::to_string(i), Access::kProbe);
    r.in_sandbox = false;
    r.on_host = false;
    o.paths.push_back(r);
  }
  o.paths.push_back(file("/usr/bin/tool", Access::kExec));
  auto back = from_json(to_json(o));
  ASSERT_TRUE(back) << back.error().render();
  EXPECT_EQ(back->paths.size(), kMaxMissingRecorded + 1);  // the cap, and every path that exists
  EXPECT_EQ(back->missing_unrecorded, 10U);
  EXPECT_NE(write_policy(*back, {}).toml.find("# " + std::to_string(kMaxMissingRecorded + 10) + " more paths were looked for"),
            std::string::npos);
}

TEST(LearnWriter, AShellTheJobRanIsLearnedAndFlaggedForReview) {
  // ImageMagick offers an SVG to inkscape through /bin/sh: learned faithfully, and flagged.
  Observations o = basic();
  o.paths = {file("/usr/bin/convert-im6.q16", Access::kExec), file("/usr/bin/dash", Access::kExec),
             file("/usr/share/dash/README", Access::kRead)};
  const Written w = write_policy(o, {});
  EXPECT_NE(w.toml.find("\"/usr/bin/dash\",  # exec by /usr/bin/tool, 1 time; a shell: review"), std::string::npos) << w.toml;
  ASSERT_EQ(std::count_if(w.notes.begin(), w.notes.end(), [](const std::string& n) { return n.find("ran a shell") != std::string::npos; }), 1)
      << w.toml;
  EXPECT_TRUE(is_shell("/bin/sh"));
  EXPECT_FALSE(is_shell("/usr/bin/shasum"));
}

TEST(LearnWriter, CollapsesManyFilesOfOneDirectory) {
  Observations o = basic();
  for (int i = 0; i < 5; ++i) o.paths.push_back(file("/usr/share/fonts/f" + std::to_string(i) + ".ttf"));
  o.paths.push_back(file("/usr/share/other/one.txt"));
  auto loaded = load_text(write_policy(o, {}).toml);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(ro_paths(*loaded.policy), (std::vector<std::string>{"/usr/share/fonts", "/usr/share/other/one.txt"}));
}

TEST(LearnWriter, ListedDirectoryWithTwoFilesUsedBecomesTheDirectory) {
  Observations o = basic();
  PathRecord dir = file("/usr/lib/tool/plugins", Access::kList);
  dir.directory = true;
  o.paths = {dir, file("/usr/lib/tool/plugins/a.so", Access::kMap), file("/usr/lib/tool/plugins/b.so", Access::kMap)};
  auto loaded = load_text(write_policy(o, {}).toml);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(ro_paths(*loaded.policy), (std::vector<std::string>{"/usr/lib/tool/plugins"}));
}

TEST(LearnWriter, NeverWidensToASensitiveDirectory) {
  struct Case {
    std::string dir;
  };
  for (const Case& c : {Case{"/etc"}, Case{"/home/alice"}, Case{"/usr"}, Case{"/etc/ssh"}}) {
    Observations o = basic();
    for (int i = 0; i < 6; ++i) o.paths.push_back(file(c.dir + "/file" + std::to_string(i)));
    const Written w = write_policy(o, {});
    auto loaded = load_text(w.toml);
    ASSERT_TRUE(loaded.ok()) << c.dir;
    const auto ro = ro_paths(*loaded.policy);
    EXPECT_FALSE(contains(ro, c.dir)) << c.dir << "\n" << w.toml;
    const bool said = std::any_of(w.notes.begin(), w.notes.end(), [&](const std::string& n) {
      return n.find("not widened to " + c.dir) != std::string::npos;
    });
    EXPECT_TRUE(said) << c.dir;
    if (c.dir == "/etc") {
      EXPECT_EQ(ro.size(), 6U);  // the files one by one
    }
    if (c.dir == "/etc/ssh") {
      EXPECT_TRUE(ro.empty());  // credential stores not even file by file
    }
  }
}

TEST(LearnWriter, HiddenAndMissingPathsAreCommentsNotRules) {
  Observations o = basic();
  PathRecord hidden = file("/home/alice/.config/tool.conf", Access::kProbe);
  hidden.in_sandbox = false;
  PathRecord missing = file("/usr/share/tool/none", Access::kProbe);
  missing.in_sandbox = false;
  missing.on_host = false;
  o.paths = {hidden, missing, file("/usr/bin/tool", Access::kExec)};
  const Written w = write_policy(o, {});
  auto loaded = load_text(w.toml);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(ro_paths(*loaded.policy), (std::vector<std::string>{"/usr/bin/tool"}));
  EXPECT_NE(w.toml.find("# hidden by the base, not added (add with --ro if needed): /home/alice/.config/tool.conf"),
            std::string::npos);
  EXPECT_NE(w.toml.find("1 more paths were looked for and exist nowhere"), std::string::npos);
}

TEST(LearnWriter, RwDirectoriesAndTheSandboxsOwnTreesAreNotListed) {
  Observations o = basic();
  o.paths = {file("/jobs/1/in.txt"), file("/jobs/1/out.pdf", Access::kCreate), file("/tmp/x", Access::kCreate),
             file("/proc/self/maps"), file("/var/log/tool.log", Access::kWrite)};
  WriteOptions options;
  options.rw = {"/jobs/1"};
  options.cwd = "/jobs/1";
  const Written w = write_policy(o, options);
  auto loaded = load_text(w.toml);
  ASSERT_TRUE(loaded.ok()) << w.toml;
  EXPECT_TRUE(ro_paths(*loaded.policy).empty());
  ASSERT_EQ(loaded.policy->filesystem.rw.size(), 1U);
  EXPECT_EQ(loaded.policy->filesystem.rw[0].path, "/jobs/1");
  EXPECT_EQ(loaded.policy->process.cwd.value, "/jobs/1");
  const bool said = std::any_of(w.notes.begin(), w.notes.end(), [](const std::string& n) {
    return n.find("written outside --rw: /var/log/tool.log") != std::string::npos;
  });
  EXPECT_TRUE(said);
}

TEST(LearnWriter, SymlinksOnTheWayAreListedForThePlanToRecreate) {
  Observations o = basic();
  PathRecord link = file("/lib64", Access::kExec);
  link.symlink = true;
  o.paths = {link, file("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", Access::kExec)};
  auto loaded = load_text(write_policy(o, {}).toml);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(ro_paths(*loaded.policy),
            (std::vector<std::string>{"/lib64", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"}));
}

TEST(LearnWriter, AWholeGroupIsNamedByItsGroup) {
  // Find a group whose native members are few, use them all, and expect "@name".
  for (const auto& group : seccomp::groups()) {
    auto members = seccomp::expand({"@" + std::string(group.name)});
    if (!members) continue;
    std::vector<std::string> native;
    for (const auto& m : *members) {
      if (seccomp::syscall_number(m)) native.push_back(m);
    }
    if (native.size() < 2 || native.size() > 6) continue;
    Observations o = basic();
    for (const auto& m : native) o.syscalls[m] = 1;
    const Written w = write_policy(o, {});
    auto loaded = load_text(w.toml);
    ASSERT_TRUE(loaded.ok()) << w.toml;
    EXPECT_TRUE(contains(loaded.policy->seccomp.rules[0].syscalls, "@" + std::string(group.name))) << w.toml;
    return;
  }
  GTEST_SKIP() << "no small syscall group to try";
}

TEST(LearnWriter, LimitsCarryTheStatedHeadroom) {
  auto loaded = load_text(write_policy(basic(), {}).toml);
  ASSERT_TRUE(loaded.ok());
  const auto& l = loaded.policy->limits;
  EXPECT_EQ(l.memory_bytes.value, std::optional<uint64_t>(200ULL << 20));  // 2x 100 MiB
  EXPECT_EQ(l.pids.value, std::optional<uint64_t>(16));                    // 2x 3, at least 16
  EXPECT_EQ(l.wall_time.value, std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(12000)));
}

TEST(LearnWriter, ALearnedPolicyCarriesItsObservationsForMerge) {
  Observations a = basic();
  a.paths = {file("/usr/share/tool/a.conf", Access::kRead, 2)};
  Observations b = basic();
  b.paths = {file("/usr/share/tool/a.conf", Access::kRead, 3), file("/usr/share/tool/b.conf")};
  b.syscalls["mkdir"] = 1;
  b.memory_peak_bytes = 300ULL << 20;
  auto back = from_policy_text(write_policy(a, {}).toml);
  ASSERT_TRUE(back) << back.error().render();
  EXPECT_EQ(back->paths.size(), 1U);
  EXPECT_EQ(back->syscalls, a.syscalls);
  merge(*back, b);
  EXPECT_EQ(back->runs, 2U);
  ASSERT_EQ(back->paths.size(), 2U);
  EXPECT_EQ(back->paths[0].count, 5U);
  EXPECT_EQ(back->syscalls["mkdir"], 1U);
  EXPECT_EQ(back->memory_peak_bytes, std::optional<uint64_t>(300ULL << 20));
  auto loaded = load_text(write_policy(*back, {}).toml);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(contains(loaded.policy->seccomp.rules[0].syscalls, "mkdir"));
  EXPECT_FALSE(from_policy_text("version = 1\n"));
}

TEST(LearnWriter, SensitivePaths) {
  for (const char* p : {"/", "/home", "/root", "/etc", "/etc/shadow", "/etc/ssh/ssh_host_rsa_key", "/home/bob",
                        "/home/bob/.ssh/id_ed25519", "/run/secrets/token", "/root/.bashrc"}) {
    EXPECT_TRUE(sensitive(p)) << p;
  }
  for (const char* p : {"/usr/share/fonts", "/etc/fonts", "/home/bob/project/in.txt", "/usr/bin/python3"}) {
    EXPECT_FALSE(sensitive(p)) << p;
  }
}

}  // namespace
}  // namespace confine::learn
