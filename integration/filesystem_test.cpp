// The filesystem boundary: what the target can read, write, list and link, and the known ways
// around a new root (/proc/*/root, "..", the old root, symlinks, hard links, remounts, masks).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "fixture.h"

namespace integ {
namespace {

using FilesystemTest = SandboxTest;

TEST_F(FilesystemTest, ReadingOutsideTheAllowedPathsFails) {
  for (const std::string& path : std::vector<std::string>{"/etc/passwd", "/etc/shadow", "/etc/hostname", "/root/.bashrc", "/home",
                                 "/var/log", "/run", canary_.c_str()}) {
    SCOPED_TRACE(path);
    const RunResult r = run_probe({"read", path});
    EXPECT_TRUE(ProbeDenied(r));
    EXPECT_EQ(r.out.find(canary_text_), std::string::npos);
  }
  // Directories are not even listable.
  for (const std::string& path : std::vector<std::string>{"/root", "/home", base_ + "/secret"}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(ProbeDenied(run_probe({"ls", path})));
  }
}

TEST_F(FilesystemTest, AllowedPathsAreReadable) {
  // The control for the test above: the probe can read what the policy allows, so a denial
  // there is the sandbox's doing, not a broken probe.
  write_text(job_path("hello.txt"), "hello from the host\n");
  RunResult r = run_probe({"read", job_path("hello.txt")});
  EXPECT_TRUE(ProbeOk(r));
  EXPECT_EQ(r.out, "hello from the host\n");
  EXPECT_TRUE(ProbeOk(run_probe({"read", "/etc/ld.so.cache"})));
  EXPECT_TRUE(ProbeOk(run_probe({"ls", "/usr/bin"})));
}

TEST_F(FilesystemTest, ProcRootCwdAndDotDotStayInside) {
  for (const std::string& path : std::vector<std::string>{"/etc/passwd", canary_.c_str()}) {
    SCOPED_TRACE(path);
    const RunResult r = run_probe({"read-proc-root", path});
    EXPECT_TRUE(ProbeDenied(r));
    EXPECT_EQ(r.out.find(canary_text_), std::string::npos);
  }
}

TEST_F(FilesystemTest, TheOldRootIsGone) {
  // After pivot_root the old root must be detached: the new root holds only what the policy
  // put there. Anything else at the top level (a leftover old-root mountpoint, /home, /root)
  // would be a way back to the host.
  const RunResult r = run_probe({"ls", "/"});
  ASSERT_TRUE(ProbeOk(r));
  const std::filesystem::path probe_path(probe_dir());
  const std::string probe_top = std::next(probe_path.begin())->string();  // "work" for /work/...
  const std::set<std::string> allowed{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc",
                                      "tmp", "dev", "proc", probe_top};
  for (const std::string& entry : lines(r.out)) {
    EXPECT_TRUE(allowed.count(entry) == 1) << "unexpected entry /" << entry << " in the sandbox's root\n"
                                           << r.describe();
  }
  const RunResult etc = run_probe({"ls", "/etc"});
  ASSERT_TRUE(ProbeOk(etc));
  for (const std::string& entry : lines(etc.out)) {
    EXPECT_TRUE(entry == "ld.so.cache" || entry == "alternatives" || entry == "localtime")
        << "unexpected /etc/" << entry << "\n" << etc.describe();
  }
  for (const std::string& path : std::vector<std::string>{"/oldroot", "/old_root", "/.oldroot", "/mnt", "/host"}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(ProbeDenied(run_probe({"ls", path})));
  }
}

TEST_F(FilesystemTest, ReadOnlyPathsCannotBeWritten) {
  for (const std::string& path : std::vector<std::string>{"/usr/bin/confine-integ-x", "/etc/ld.so.cache", probe_dir() + "/confine-integ-x",
                                 "/confine-integ-x"}) {
    SCOPED_TRACE(path);
    const RunResult r = run_probe({"write", path});
    EXPECT_TRUE(ProbeDenied(r));
    const std::string err = first_line(r.out);
    EXPECT_TRUE(err == "EROFS" || err == "EACCES" || err == "EPERM") << err;
  }
  EXPECT_FALSE(std::filesystem::exists("/usr/bin/confine-integ-x"));
  EXPECT_FALSE(std::filesystem::exists(probe_dir() + "/confine-integ-x"));
  // The job dir is the one place that is writable, and the write lands on the host.
  EXPECT_TRUE(ProbeOk(run_probe({"write", job_path("out.txt"), "result"})));
  EXPECT_EQ(read_text(job_path("out.txt")).value_or(""), "result\n");
}

TEST_F(FilesystemTest, RemountingReadWriteIsKilled) {
  // mount is in @default-deny with action kill; even without seccomp the target has no
  // CAP_SYS_ADMIN, and the binds are locked read-only in its user namespace.
  EXPECT_TRUE(KilledBySeccomp(run_probe({"remount-rw", "/usr"}), "mount"));
  EXPECT_TRUE(KilledBySeccomp(run_probe({"remount-rw", job_}), "mount"));
}

TEST_F(FilesystemTest, DeniedPathsInsideAnAllowedTreeStayHidden) {
  const RunOptions deny = with_args({"-p", policy("deny.toml")});
  ASSERT_TRUE(std::filesystem::exists("/usr/lib/os-release")) << "fixture assumption: base-files is installed";
  ASSERT_TRUE(std::filesystem::is_directory("/usr/share/common-licenses"));

  const RunResult file = run_probe({"read", "/usr/lib/os-release"}, deny);
  EXPECT_TRUE(ProbeDenied(file));

  // A masked directory is either unreadable or empty; never the host's contents.
  const RunResult dir = run_probe({"ls", "/usr/share/common-licenses"}, deny);
  if (dir.exit_code == 0) {
    EXPECT_TRUE(ProbeOk(dir));
    EXPECT_EQ(dir.out, "") << "the mask shows the host's files\n" << dir.describe();
  } else {
    EXPECT_TRUE(ProbeDenied(dir));
  }
  EXPECT_TRUE(ProbeDenied(run_probe({"read", "/usr/share/common-licenses/GPL-3"}, deny)));

  // Unmounting the mask to uncover what is beneath: umount2 is killed by seccomp.
  EXPECT_TRUE(KilledBySeccomp(run_probe({"umount", "/usr/share/common-licenses"}, deny), "umount2"));
  EXPECT_TRUE(KilledBySeccomp(run_probe({"umount", "/usr/lib/os-release"}, deny), "umount2"));

  // The control: the rest of the tree is still there.
  EXPECT_TRUE(ProbeOk(run_probe({"ls", "/usr/share"}, deny)));
}

TEST_F(FilesystemTest, SymlinksInTheJobDirDoNotEscape) {
  // Made on the host, where they would resolve; inside they resolve against the sandbox's root.
  ASSERT_EQ(::symlink("/etc/shadow", job_path("to-shadow").c_str()), 0);
  ASSERT_EQ(::symlink(canary_.c_str(), job_path("to-canary").c_str()), 0);
  ASSERT_EQ(::symlink("../secret/canary.txt", job_path("to-canary-rel").c_str()), 0);
  for (const std::string& link : std::vector<std::string>{"to-shadow", "to-canary", "to-canary-rel"}) {
    SCOPED_TRACE(link);
    const RunResult r = run_probe({"read", job_path(link)});
    EXPECT_TRUE(ProbeDenied(r));
    EXPECT_EQ(r.out.find(canary_text_), std::string::npos);
  }
  // Made inside: absolute, relative with many "..", and through /proc/1/root.
  const RunResult inside = run_probe({"symlink-escape", job_, canary_});
  EXPECT_TRUE(ProbeDenied(inside));
  EXPECT_EQ(inside.out.find(canary_text_), std::string::npos);
}

TEST_F(FilesystemTest, RwPathThatIsASymlinkIsRefused) {
  // A bind source that is a symlink: confine must not follow it on the host (the target could
  // have planted it in a directory it controls), so it refuses with a message and exit 125.
  const std::string link = base_ + "/job-link";
  ASSERT_EQ(::symlink(job_.c_str(), link.c_str()), 0);
  RunOptions options = with_args({"--rw", link});
  options.bind_job = false;
  const RunResult r = run_probe({"write", link + "/planted"}, options);
  EXPECT_TRUE(Ended(r, "setup_error", 125));
  EXPECT_NE(r.err.find("symlink"), std::string::npos) << r.describe();
  EXPECT_FALSE(std::filesystem::exists(job_path("planted")));
}

TEST_F(FilesystemTest, RwPathThroughASymlinkIsRefused) {
  // A symlink in the middle of the path would make the bind land somewhere the policy never
  // named: refused too.
  const std::string dir_link = base_ + "/base-link";
  ASSERT_EQ(::symlink(base_.c_str(), dir_link.c_str()), 0);
  RunOptions options = with_args({"--rw", dir_link + "/job"});
  options.bind_job = false;
  const RunResult r = run_probe({"write", dir_link + "/job/planted"}, options);
  EXPECT_TRUE(Ended(r, "setup_error", 125));
  EXPECT_NE(r.err.find("symlink"), std::string::npos) << r.describe();
  EXPECT_FALSE(std::filesystem::exists(job_path("planted")));
}

TEST_F(FilesystemTest, HardLinksToFilesOutsideAreImpossible) {
  // The canary is not in the sandbox at all: nothing to link to.
  EXPECT_TRUE(ProbeDenied(run_probe({"hardlink", canary_, job_path("canary-link")})));
  // A visible read-only file lives on another mount than the job dir: EXDEV (or EPERM from
  // protected_hardlinks), never a writable second name for a system file.
  for (const std::string& target : std::vector<std::string>{"/etc/ld.so.cache", probe_binary()}) {
    SCOPED_TRACE(target);
    const RunResult r = run_probe({"hardlink", target, job_path("link")});
    EXPECT_TRUE(ProbeDenied(r));
    EXPECT_FALSE(std::filesystem::exists(job_path("link")));
  }
  EXPECT_FALSE(std::filesystem::exists(job_path("canary-link")));
}

}  // namespace
}  // namespace integ
