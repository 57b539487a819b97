// Ghostscript under policies/ghostscript.toml: honest PostScript/PDF rendering gives the same
// bytes as an unsandboxed run; hostile PostScript (file operators, %pipe%, endless loops and page
// counts, more pages than the output area takes) is stopped by the sandbox both with gs's own
// -dSAFER and with it turned off (-dNOSAFER), since a user may pass that and SAFER has been
// bypassed many times. Inputs are read from the job's read-only input dir, outputs written to
// /out and delivered (workload_fixture.h).
#include <chrono>
#include <filesystem>
#include <set>
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

  // `gs -dSAFER -sDEVICE=png16m -rRESOLUTION -sOutputFile=<out>/PREFIX-%d.png INPUT` of a
  // three-page document, sandboxed and unsandboxed: the sandboxed run delivers the three pages,
  // each byte-equal to the unsandboxed run's (png16m output has no timestamps).
  void render_three_pages_both(const std::string& input, const std::string& resolution, const std::string& prefix) {
    const auto to_png = [&](const std::string& out) {
      return gs_args("-dSAFER", {"-sDEVICE=png16m", "-r" + resolution, "-sOutputFile=" + out + "/" + prefix + "-%d.png", input});
    };
    const RunResult png = run_workload("ghostscript.toml", to_png(kOutArea));
    ASSERT_TRUE(Ended(png, "ok", 0));
    const std::set<std::string> pages{prefix + "-1.png", prefix + "-2.png", prefix + "-3.png"};
    EXPECT_TRUE(Delivered(png, pages));
    ASSERT_EQ(run_unsandboxed(to_png(plain_out_)).exit_code, 0);
    for (const std::string& page : pages) {
      const auto sandboxed = read_text(out_path(page));
      ASSERT_TRUE(sandboxed.has_value()) << page << " was not delivered";
      EXPECT_GT(sandboxed->size(), 100U) << page;
      // Compared as a bool: a failure should not print two PNGs.
      EXPECT_TRUE(sandboxed == read_text(plain_out_path(page))) << page << " differs from the unsandboxed run";
    }
  }
};

TEST_F(GhostscriptWorkload, PostScriptToPdfAndPdfToPngMatchUnsandboxed) {
  write_text(job_path("doc.ps"), kThreePages);
  copy_to_plain("doc.ps");
  const auto to_pdf = [](const std::string& out) {
    return gs_args("-dSAFER", {"-sDEVICE=pdfwrite", "-sOutputFile=" + out + "/doc.pdf", "doc.ps"});
  };
  const RunResult pdf = run_workload("ghostscript.toml", to_pdf(kOutArea));
  ASSERT_TRUE(Ended(pdf, "ok", 0));
  EXPECT_TRUE(Delivered(pdf, {"doc.pdf"}));
  const ToolResult plain_pdf = run_unsandboxed(to_pdf(plain_out_));
  ASSERT_EQ(plain_pdf.exit_code, 0) << plain_pdf.describe();
  EXPECT_EQ(pdf_pages(out_path("doc.pdf")), "3");
  EXPECT_EQ(pdf_pages(plain_out_path("doc.pdf")), "3");

  // PDF -> PNG, one file per page, each run from its own PDF.
  take_delivered("doc.pdf");
  take_plain_output("doc.pdf");
  render_three_pages_both("doc.pdf", "40", "page");
  EXPECT_TRUE(NothingWrittenOutside());
}

TEST_F(GhostscriptWorkload, PostScriptToPngAndPageCountMatchUnsandboxed) {
  write_text(job_path("doc.ps"), kThreePages);
  copy_to_plain("doc.ps");
  render_three_pages_both("doc.ps", "30", "ps");
  if (HasFatalFailure()) return;

  // The page count, as a service would ask gs for it (under SAFER the file must be permitted),
  // of a PDF made by an earlier job.
  const RunResult made = run_workload(
      "ghostscript.toml", gs_args("-dSAFER", {"-sDEVICE=pdfwrite", "-sOutputFile=/out/doc.pdf", "doc.ps"}));
  ASSERT_TRUE(Ended(made, "ok", 0));
  take_delivered("doc.pdf");
  const std::vector<std::string> count = {kGs, "-q", "-dNODISPLAY", "-dSAFER", "--permit-file-read=doc.pdf",
                                          "-c", "(doc.pdf) (r) file runpdfbegin pdfpagecount = quit"};
  const RunResult counted = run_workload("ghostscript.toml", count);
  ASSERT_TRUE(Ended(counted, "ok", 0));
  EXPECT_EQ(first_line(counted.out), "3") << counted.describe();
  EXPECT_TRUE(Delivered(counted, {}));
}

// PostScript that reads the canary (printing it and copying it into the output dir `out`),
// writes outside the job dir and into its input dir (its working dir), and runs a shell through
// %pipe% to copy the canary. Each step is wrapped in `stopped` so one refusal does not hide the
// next.
std::string hostile_postscript(const std::string& canary, const std::string& outside, const std::string& out) {
  return "%!PS\n"
         "{ (" + canary + ") (r) file dup 200 string readstring pop\n"
         "  dup print (" + out + "/leak-read.txt) (w) file exch writestring closefile } stopped pop\n"
         "{ (" + outside + ") (w) file dup (pwned) writestring closefile } stopped pop\n"
         "{ (in-input.txt) (w) file dup (pwned) writestring closefile } stopped pop\n"
         "{ (%pipe%cat " + canary + " > " + out + "/leak-pipe.txt) (w) file closefile } stopped pop\n"
         "(done) print quit\n";
}

TEST_F(GhostscriptWorkload, HostileFileOperatorsAreStoppedWithAndWithoutSafer) {
  write_text(job_path("evil.ps"), hostile_postscript(canary_, outside_, kOutArea));
  write_text(plain_path("evil.ps"), hostile_postscript(canary_, outside_, plain_out_));
  for (const char* safety : {"-dSAFER", "-dNOSAFER"}) {
    SCOPED_TRACE(safety);
    const RunResult r = run_workload("ghostscript.toml", gs_args(safety, {"-sDEVICE=nullpage", "evil.ps"}));
    // Every attempt failed inside `stopped`, so gs itself finishes normally.
    EXPECT_TRUE(Ended(r, "ok", 0));
    EXPECT_NE(r.out.find("done"), std::string::npos) << r.describe();
    EXPECT_TRUE(NoCanaryLeak(r));
    EXPECT_TRUE(NothingWrittenOutside());
    EXPECT_TRUE(Delivered(r, {}));  // no leak-read.txt, no leak-pipe.txt
  }

  // Unsandboxed with -dNOSAFER, the same file reads the canary, writes outside and into its
  // working dir, and runs a shell. (With -dSAFER gs also permits its temp dir, /tmp, where this
  // fixture's canary lives; that depends on TMPDIR, so only the NOSAFER run is asserted.)
  const ToolResult plain = run_unsandboxed(gs_args("-dNOSAFER", {"-sDEVICE=nullpage", "evil.ps"}));
  EXPECT_NE(plain.out.find(canary_text_), std::string::npos) << plain.describe();
  EXPECT_NE(read_text(plain_out_path("leak-read.txt")).value_or("").find(canary_text_), std::string::npos)
      << "the unsandboxed run did not copy the canary";
  EXPECT_TRUE(std::filesystem::exists(outside_)) << "the unsandboxed run did not write outside";
  EXPECT_TRUE(std::filesystem::exists(plain_path("in-input.txt"))) << "the unsandboxed run did not write its working dir";
  EXPECT_NE(read_text(plain_out_path("leak-pipe.txt")).value_or("").find(canary_text_), std::string::npos)
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
  EXPECT_TRUE(Delivered(r, {}));

  copy_to_plain("net.ps");
  const ToolResult plain = run_unsandboxed(gs_args("-dNOSAFER", {"-sDEVICE=nullpage", "net.ps"}));
  EXPECT_EQ(plain.exit_code, 0) << plain.describe();
  for (int i = 0; i < 100 && listener.connections() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(listener.connections(), 1) << "the unsandboxed %pipe% did not connect";
}

TEST_F(GhostscriptWorkload, EndlessLoopEndsInCpuTimeout) {
  write_text(job_path("loop.ps"), "%!PS\n{} loop\n");
  const RunResult r = run_workload("ghostscript.toml", gs_args("-dSAFER", {"-sDEVICE=nullpage", "loop.ps"}),
                                   with_args({"--cpu-time", "2s"}));
  EXPECT_TRUE(Ended(r, "cpu_timeout", 124));
  EXPECT_TRUE(NothingWrittenOutside());
}

TEST_F(GhostscriptWorkload, EndlessPagesEndInWallTimeout) {
  // A billion pages: each is cheap, the document never ends.
  write_text(job_path("pages.ps"), "%!PS\n1 1 1000000000 { 72 72 moveto (x) show showpage } for\n");
  const RunResult r = run_workload("ghostscript.toml",
                                   gs_args("-dSAFER", {"-sDEVICE=pdfwrite", "-sOutputFile=/out/pages.pdf", "pages.ps"}),
                                   with_args({"--timeout", "3s"}));
  EXPECT_TRUE(Ended(r, "wall_timeout", 124));
  EXPECT_TRUE(NothingWrittenOutside());
}

// 200 pages rendered one PNG each, where the output area takes 32 files (10000 by default): gs
// stops at the first page the area refuses, and only what fit is delivered.
TEST_F(GhostscriptWorkload, PagesPastTheOutputAreasFileCapAreNotDelivered) {
  write_text(job_path("pages.ps"), "%!PS\n1 1 200 { 72 72 moveto (x) show showpage } for\n");
  copy_to_plain("pages.ps");
  const auto to_png = [](const std::string& out) {
    return gs_args("-dSAFER", {"-sDEVICE=png16m", "-r10", "-sOutputFile=" + out + "/p-%d.png", "pages.ps"});
  };
  const RunResult r = run_workload(policy_with_output_files("ghostscript.toml", 32), to_png(kOutArea));
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  EXPECT_NE((r.out + r.err).find("Last OS error: No space left on device"), std::string::npos) << r.describe();
  std::set<std::string> delivered;
  for (int page = 1; page <= 32; ++page) delivered.insert("p-" + std::to_string(page) + ".png");
  EXPECT_TRUE(Delivered(r, delivered));
  EXPECT_TRUE(NothingWrittenOutside());

  // Unsandboxed, every page is written.
  ASSERT_EQ(run_unsandboxed(to_png(plain_out_)).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(plain_out_path("p-200.png")));
}

}  // namespace
}  // namespace integ
