// What a hostile job leaves in its output area, under each shipped workload policy with the
// area's defaults (1G, 10000 files): a symlink to the canary and one to /etc, a FIFO, a name with
// a newline, a file it tried to make setuid and then made executable, and empty files until the
// area is full. Only regular files arrive, at mode 0644 and no more than the area held, and the
// report lists what was refused and why.
//
// The job is python3 (in /usr/bin, visible under every policy), standing in for the code a
// hostile input runs in an exploited converter: of the converters themselves only python makes
// symlinks and FIFOs. The ImageMagick, Ghostscript and ffmpeg tests also fill a (smaller) area
// with their own tiles, pages and frames.
#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "workload_fixture.h"

namespace integ {
namespace {

const char* const kPython = "/usr/bin/python3";

// argv[1]: the output area; argv[2]: the canary's host path. Prints what it made, or the errno.
const char* const kLeftovers = R"PY(
import errno, os, sys
out, canary = sys.argv[1], sys.argv[2]
def attempt(what, make):
    try:
        make()
        print(what, "made")
    except OSError as e:
        print(what, errno.errorcode[e.errno])
with open(out + "/result.txt", "w") as f:
    f.write("result\n")
attempt("symlink", lambda: os.symlink(canary, out + "/canary-link"))
attempt("dir-symlink", lambda: os.symlink("/etc", out + "/etc-link"))
attempt("fifo", lambda: os.mkfifo(out + "/fifo"))
attempt("name", lambda: open(out + "/bad\nname", "w").close())
with open(out + "/tool", "w") as f:
    f.write("#!/bin/sh\n")
attempt("setuid", lambda: os.chmod(out + "/tool", 0o4755))
attempt("exec", lambda: os.chmod(out + "/tool", 0o755))
os.mkdir(out + "/many")
n = 0
try:
    while n < 100000:
        open("%s/many/%d" % (out, n), "w").close()
        n += 1
    print("files", n)
except OSError as e:
    print("files", n, errno.errorcode[e.errno])
)PY";

class WorkloadOutputArea : public WorkloadTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    WorkloadTest::SetUp();
    if (HasFatalFailure()) return;
    CONFINE_REQUIRE(have_tool(kPython), "needs /usr/bin/python3 (Debian package python3)");
  }
};

TEST_P(WorkloadOutputArea, HostileLeftoversAreNotDelivered) {
  const RunResult r = run_workload(GetParam(), {kPython, "-c", kLeftovers, kOutArea, canary_});
  ASSERT_TRUE(Ended(r, "ok", 0));
  // Everything was made inside the sandbox (so what follows is not trivially true), except the
  // set-id bit, which the policies' seccomp filter refuses.
  std::vector<std::string> out = lines(r.out);
  ASSERT_EQ(out.size(), 7U) << r.describe();
  const std::string files_line = out.back();
  out.pop_back();
  EXPECT_EQ(out, (std::vector<std::string>{"symlink made", "dir-symlink made", "fifo made", "name made", "setuid EPERM",
                                           "exec made"}));
  // The area's inode cap (10000, counting result.txt, tool, the links, the FIFO, the odd name
  // and many/) stopped the flood.
  ASSERT_EQ(files_line.rfind("files ", 0), 0U) << files_line;
  ASSERT_NE(files_line.find(" ENOSPC"), std::string::npos) << files_line;
  const int made = std::stoi(files_line.substr(6));
  EXPECT_GT(made, 9900) << files_line;
  EXPECT_LT(made, 10000) << files_line;

  // On the host: regular files of mode 0644 (the tool without its execute bits) in directories of
  // mode 0755, nothing else.
  namespace fs = std::filesystem;
  std::set<std::string> top;
  int many = 0;
  for (auto it = fs::recursive_directory_iterator(out_); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    ASSERT_EQ(::lstat(it->path().c_str(), &st), 0) << it->path();
    const std::string name = fs::relative(it->path(), out_).string();
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0755U) << name;
    } else {
      ASSERT_TRUE(S_ISREG(st.st_mode)) << name << " was delivered and is not a regular file";
      EXPECT_EQ(st.st_mode & 07777, 0644U) << name;
    }
    if (it.depth() == 0) top.insert(name);
    if (it.depth() == 1 && S_ISREG(st.st_mode)) ++many;
  }
  EXPECT_EQ(top, (std::set<std::string>{"result.txt", "tool", "many"}));
  EXPECT_EQ(many, made) << "every file the area held is delivered";
  EXPECT_EQ(read_text(out_path("result.txt")), "result\n");
  EXPECT_EQ(read_text(out_path("tool")), "#!/bin/sh\n");

  ASSERT_TRUE(r.report.has_value());
  const auto& area = (*r.report)["output_area"];
  EXPECT_EQ(area["files_copied"], made + 2);
  std::set<std::string> refused;
  for (const auto& item : area["refused"]) refused.insert(item["name"].get<std::string>() + ":" + item["reason"].get<std::string>());
  EXPECT_EQ(refused, (std::set<std::string>{"canary-link:symlink", "etc-link:symlink", "fifo:fifo", "bad\\x0aname:name"}))
      << area["refused"].dump(1);
  // A delivered link to the canary would be followed by NoCanaryLeak's scan.
  EXPECT_TRUE(NoCanaryLeak(r));
  EXPECT_TRUE(NothingWrittenOutside());
}

INSTANTIATE_TEST_SUITE_P(ShippedPolicies, WorkloadOutputArea,
                         ::testing::Values("imagemagick.toml", "ghostscript.toml", "ffmpeg.toml", "pandoc.toml",
                                           "python.toml", "libreoffice.toml"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param.substr(0, p.param.find('.'));
                         });

}  // namespace
}  // namespace integ
