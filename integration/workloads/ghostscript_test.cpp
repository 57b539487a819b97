// Ghostscript under policies/ghostscript.toml: honest PostScript/PDF rendering gives the same
// bytes as an unsandboxed run; hostile PostScript (file operators, %pipe%, endless loops and page
// counts) is stopped by the sandbox both with gs's own -dSAFER and with it turned off
// (-dNOSAFER), since a user may pass that and SAFER has been bypassed many times.
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "workload_fixture.h"

namespace integ {
namespace {

const char* const kGs = "/usr/bin/gs";

// Three pages, each with its number, so page counts and rasters can be compared.
const char* const kThreePages =
    "%!PS\n"
    "/Helvetica findfont 24 scalefont setfont\n"
    "1 1 3 { /n exch def 72 700 moveto (Page ) show n 3 string cvs show\n"
    "        100 100 moveto 300 400 lineto stroke showpage } for\n";

std::vector<std::string> gs_args(const std::string& safety, std::vector<std::string> rest) {
  std::vector<std::string> argv{kGs, "-q", "-dBATCH", "-dNOPAUSE", safety};
  argv.insert(argv.end(), rest.begin(), rest.end());
  return argv;
}

class GhostscriptWorkload : public WorkloadTest {
 protected:
  void SetUp() override {
    WorkloadTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    CONFINE_REQUIRE(have_tool(kGs), "Ghostscript is not installed (Debian package ghostscript)");
  }

  // The number pdfinfo reports on the host ("" when it cannot read the file).
  std::string pdf_pages(const std::string& path) {
    const ToolResult info = run_unsandboxed({"/usr/bin/pdfinfo", path});
    for (const std::string& line : lines(info.out)) {
      if (line.rfind("Pages:", 0) == 0) return line.substr(line.find_last_of(' ') + 1);
    }
    return "";
  }
};

TEST_F(GhostscriptWorkload, PostScriptToPdfAndPdfToPngMatchUnsandboxed) {
  write_text(job_path("doc.ps"), kThreePages);
  copy_to_plain("doc.ps");
  const std::vector<std::string> to_pdf = gs_args("-dSAFER", {"-sDEVICE=pdfwrite", "-sOutputFile=doc.pdf", "doc.ps"});
  const RunResult pdf = run_workload("ghostscript.toml", to_pdf);
  ASSERT_TRUE(Ended(pdf, "ok", 0));
  const ToolResult plain_pdf = run_unsandboxed(to_pdf);
  ASSERT_EQ(plain_pdf.exit_code, 0) << plain_pdf.describe();
  EXPECT_EQ(pdf_pages(job_path("doc.pdf")), "3");
  EXPECT_EQ(pdf_pages(plain_path("doc.pdf")), "3");

  // PDF -> PNG, one file per page. png16m output has no timestamps: byte-equal to the host's.
  const std::vector<std::string> to_png = gs_args("-dSAFER", {"-sDEVICE=png16m", "-r40", "-sOutputFile=page-%d.png", "doc.pdf"});
  ASSERT_TRUE(Ended(run_workload("ghostscript.toml", to_png), "ok", 0));
  ASSERT_EQ(run_unsandboxed(to_png).exit_code, 0);
  for (const char* page : {"page-1.png", "page-2.png", "page-3.png"}) {
    const auto sandboxed = read_text(job_path(page));
    ASSERT_TRUE(sandboxed.has_value()) << page << " was not written";
    EXPECT_GT(sandboxed->size(), 100U) << page;
    // Compared as a bool: a failure should not print two PNGs.
    EXPECT_TRUE(sandboxed == read_text(plain_path(page))) << page << " differs from the unsandboxed run";
  }
  EXPECT_FALSE(std::filesystem::exists(job_path("page-4.png")));
}

TEST_F(GhostscriptWorkload, PostScriptToPngAndPageCountMatchUnsandboxed) {
  write_text(job_path("doc.ps"), kThreePages);
  copy_to_plain("doc.ps");
  const std::vector<std::string> to_png = gs_args("-dSAFER", {"-sDEVICE=png16m", "-r30", "-sOutputFile=ps-%d.png", "doc.ps"});
  ASSERT_TRUE(Ended(run_workload("ghostscript.toml", to_png), "ok", 0));
  ASSERT_EQ(run_unsandboxed(to_png).exit_code, 0);
  const auto last = read_text(job_path("ps-3.png"));
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last == read_text(plain_path("ps-3.png"))) << "ps-3.png differs from the unsandboxed run";

  // The page count, as a service would ask gs for it (under SAFER the file must be permitted).
  const std::vector<std::string> make_pdf = gs_args("-dSAFER", {"-sDEVICE=pdfwrite", "-sOutputFile=doc.pdf", "doc.ps"});
  ASSERT_TRUE(Ended(run_workload("ghostscript.toml", make_pdf), "ok", 0));
  const std::vector<std::string> count = {kGs, "-q", "-dNODISPLAY", "-dSAFER", "--permit-file-read=doc.pdf",
                                          "-c", "(doc.pdf) (r) file runpdfbegin pdfpagecount = quit"};
  const RunResult counted = run_workload("ghostscript.toml", count);
  ASSERT_TRUE(Ended(counted, "ok", 0));
  EXPECT_EQ(first_line(counted.out), "3") << counted.describe();
}

// PostScript that reads the canary (printing it and copying it into the job dir), writes
// outside the job dir, and runs a shell through %pipe% to copy the canary. Each step is wrapped
// in `stopped` so one refusal does not hide the next.
std::string hostile_postscript(const std::string& canary, const std::string& outside) {
  return "%!PS\n"
         "{ (" + canary + ") (r) file dup 200 string readstring pop\n"
         "  dup print (leak-read.txt) (w) file exch writestring closefile } stopped pop\n"
         "{ (" + outside + ") (w) file dup (pwned) writestring closefile } stopped pop\n"
         "{ (%pipe%cat " + canary + " > leak-pipe.txt) (w) file closefile } stopped pop\n"
         "(done) print quit\n";
}

TEST_F(GhostscriptWorkload, HostileFileOperatorsAreStoppedWithAndWithoutSafer) {
  write_text(job_path("evil.ps"), hostile_postscript(canary_, outside_));
  copy_to_plain("evil.ps");
  for (const char* safety : {"-dSAFER", "-dNOSAFER"}) {
    SCOPED_TRACE(safety);
    const RunResult r = run_workload("ghostscript.toml", gs_args(safety, {"-sDEVICE=nullpage", "evil.ps"}));
    // Every attempt failed inside `stopped`, so gs itself finishes normally.
    EXPECT_TRUE(Ended(r, "ok", 0));
    EXPECT_NE(r.out.find("done"), std::string::npos) << r.describe();
    EXPECT_TRUE(NoCanaryLeak(r));
    EXPECT_TRUE(NothingWrittenOutside());
    EXPECT_FALSE(std::filesystem::exists(job_path("leak-pipe.txt")));
  }

  // Unsandboxed with -dNOSAFER, the same file reads the canary, writes outside and runs a shell.
  // (With -dSAFER gs also permits its temp dir, /tmp, where this fixture's canary lives; that
  // depends on TMPDIR, so only the NOSAFER run is asserted.)
  const ToolResult plain = run_unsandboxed(gs_args("-dNOSAFER", {"-sDEVICE=nullpage", "evil.ps"}));
  EXPECT_NE(plain.out.find(canary_text_), std::string::npos) << plain.describe();
  EXPECT_TRUE(std::filesystem::exists(outside_)) << "the unsandboxed run did not write outside";
  EXPECT_NE(read_text(plain_path("leak-pipe.txt")).value_or("").find(canary_text_), std::string::npos)
      << "the unsandboxed %pipe% did not run";
  std::filesystem::remove(outside_);
}

TEST_F(GhostscriptWorkload, NetworkIsUnreachableEvenThroughPipe) {
  LoopbackListener listener;
  // With -dNOSAFER, %pipe% hands a command line to the shell; here bash's /dev/tcp would
  // connect. The shell is masked and there is no route to the host's loopback.
  write_text(job_path("net.ps"),
             "%!PS\n{ (%pipe%bash -c 'echo x > /dev/tcp/127.0.0.1/" + std::to_string(listener.port()) +
                 "') (w) file closefile } stopped pop (done) print quit\n");
  const RunResult r = run_workload("ghostscript.toml", gs_args("-dNOSAFER", {"-sDEVICE=nullpage", "net.ps"}));
  EXPECT_TRUE(Ended(r, "ok", 0));
  EXPECT_EQ(listener.connections(), 0);

  copy_to_plain("net.ps");
  const ToolResult plain = run_unsandboxed(gs_args("-dNOSAFER", {"-sDEVICE=nullpage", "net.ps"}));
  EXPECT_EQ(plain.exit_code, 0) << plain.describe();
  for (int i = 0; i < 100 && listener.connections() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(listener.connections(), 1) << "the unsandboxed %pipe% did not connect";
}

TEST_F(GhostscriptWorkload, EndlessLoopEndsInCpuTimeout) {
  write_text(job_path("loop.ps"), "%!PS\n{} loop\n");
  std::vector<std::string> args{"-p", shipped_policy("ghostscript.toml"), "--cpu-time", "2s", "--cwd", job_};
  if (!resources_enforced()) args.emplace_back("--best-effort");
  const RunResult r = run_command(gs_args("-dSAFER", {"-sDEVICE=nullpage", "loop.ps"}), with_args(args));
  EXPECT_TRUE(Ended(r, "cpu_timeout", 124));
  EXPECT_TRUE(NothingWrittenOutside());
}

TEST_F(GhostscriptWorkload, EndlessPagesEndInWallTimeout) {
  // A billion pages: each is cheap, the document never ends.
  write_text(job_path("pages.ps"), "%!PS\n1 1 1000000000 { 72 72 moveto (x) show showpage } for\n");
  const RunResult r = run_workload("ghostscript.toml",
                                   gs_args("-dSAFER", {"-sDEVICE=pdfwrite", "-sOutputFile=pages.pdf", "pages.ps"}),
                                   with_args({"--timeout", "3s"}));
  EXPECT_TRUE(Ended(r, "wall_timeout", 124));
  EXPECT_TRUE(NothingWrittenOutside());
}

}  // namespace
}  // namespace integ
