// LibreOffice headless under policies/libreoffice.toml: honest Writer (.docx) and Calc (.csv)
// conversions to PDF match an unsandboxed run page for page and word for word; hostile documents
// (sections, images and cells linked to a host file or to the host's loopback, a Basic macro, a
// document too large to lay out in time) are stopped by the sandbox.
//
// LibreOffice has defences of its own: --convert-to loads documents without ever running their
// macros, links in Writer are updated only "on request" (never, headless), and Calc answers
// external references and WEBSERVICE() with Err:540 until a user allows them. A job service
// cannot count on them (an administrator's profile, an older version, the next bypass), so the
// hostile tests that need it lower them in a profile of their own, and show both: with them
// lowered the attack works unsandboxed and fails sandboxed. LibreOffice writes to its profile, so
// that profile is a directory of its own bound read-write (--rw) beside the job's read-only input;
// the other runs use the policy's fresh profile on /tmp.
//
// Documents are read from the job's read-only input dir, and PDFs written to /out (`--outdir /out`)
// and delivered (workload_fixture.h), as the README's service example runs soffice.
//
// soffice starts in about 4 s, so the suite keeps its runs few: 6 sandboxed, 4 unsandboxed.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "workload_fixture.h"

namespace integ {
namespace {

const char* const kSoffice = "/usr/bin/soffice";
const char* const kPolicy = "libreoffice.toml";

// Writes a minimal .docx (Office Open XML): one paragraph per argument after the output path,
// with a page break between them. Python's zipfile, so the input is not made by LibreOffice.
const char* const kMakeDocx = R"PY(
import sys, zipfile
from xml.sax.saxutils import escape
out, pages = sys.argv[1], sys.argv[2:]
brk = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'
body = brk.join('<w:p><w:r><w:t>%s</w:t></w:r></w:p>' % escape(p) for p in pages)
files = {
  '[Content_Types].xml': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '</Types>',
  '_rels/.rels': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    '</Relationships>',
  'word/document.xml': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    + body + '</w:body></w:document>',
}
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    for name, data in files.items():
        z.writestr(name, data)
)PY";

const char* const kOfficeNs =
    R"( xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0")"
    R"( xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0")"
    R"( xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0")"
    R"( xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0")"
    R"( xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0")"
    R"( xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0")"
    R"( xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2")"
    R"( xmlns:ooo="http://openoffice.org/2004/office")"
    R"( xmlns:xlink="http://www.w3.org/1999/xlink")";

// A flat (single-file XML) ODF text document.
std::string fodt(const std::string& body, const std::string& scripts = "") {
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<office:document") + kOfficeNs +
         " office:version=\"1.3\" office:mimetype=\"application/vnd.oasis.opendocument.text\">\n" + scripts +
         "<office:body><office:text>\n" + body + "</office:text></office:body></office:document>\n";
}

// A flat ODF spreadsheet with one sheet.
std::string fods(const std::string& sheet) {
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<office:document") + kOfficeNs +
         " office:version=\"1.3\" office:mimetype=\"application/vnd.oasis.opendocument.spreadsheet\">\n"
         "<office:body><office:spreadsheet><table:table table:name=\"Sheet1\">\n" +
         sheet + "</table:table></office:spreadsheet></office:body></office:document>\n";
}

std::string image_linked_to(const std::string& name, const std::string& url) {
  return "<draw:frame draw:name=\"" + name + "\" text:anchor-type=\"as-char\" svg:width=\"2cm\" svg:height=\"2cm\">"
         "<draw:image xlink:href=\"" + url + "\" xlink:type=\"simple\" xlink:show=\"embed\" xlink:actuate=\"onLoad\"/>"
         "</draw:frame>";
}

std::string formula_row(const std::string& formula) {
  return "<table:table-row><table:table-cell table:formula=\"" + formula +
         "\" office:value-type=\"string\" office:string-value=\"cached\"><text:p>cached</text:p></table:table-cell>"
         "</table:table-row>\n";
}

// LibreOffice's own link and macro defences, lowered (see the header): Writer and Calc update
// links when loading, macro security "low". A profile's registrymodifications.xcu.
const char* const kPermissiveConfig = R"(<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
)";

// A Basic macro that reads the canary, writes it outside the job dir, and leaves a marker (with
// what it read) in `marker_dir` (the output area in the sandbox), so a test can tell "did not run"
// from "ran and was stopped".
std::string macro_source(const std::string& canary, const std::string& outside, const std::string& marker_dir) {
  return "Sub Main\n"
         "  On Error Resume Next\n"
         "  Dim secret As String\n"
         "  secret = &quot;(canary not readable)&quot;\n"
         "  Open &quot;" + marker_dir + "/macro-ran.txt&quot; For Output As #3\n"
         "  Print #3, &quot;macro ran&quot;\n"
         "  Close #3\n"
         "  Open &quot;" + canary + "&quot; For Input As #1\n"
         "  Line Input #1, secret\n"
         "  Close #1\n"
         "  Open &quot;" + outside + "&quot; For Output As #2\n"
         "  Print #2, &quot;macro wrote: &quot; &amp; secret\n"
         "  Close #2\n"
         "  Open &quot;" + marker_dir + "/macro-ran.txt&quot; For Append As #3\n"
         "  Print #3, &quot;read: &quot; &amp; secret\n"
         "  Close #3\n"
         "End Sub\n";
}

// The macro as a document's auto-run Basic on the "document opened" event (dom:load).
std::string document_with_macro(const std::string& source) {
  const std::string scripts =
      "<office:scripts><office:script script:language=\"ooo:Basic\"><ooo:libraries>"
      "<ooo:library-embedded ooo:name=\"Standard\"><ooo:module ooo:name=\"AutoOpen\"><ooo:source-code>" + source +
      "</ooo:source-code></ooo:module></ooo:library-embedded></ooo:libraries></office:script>"
      "<office:event-listeners><script:event-listener script:language=\"ooo:script\" script:event-name=\"dom:load\""
      " xlink:href=\"vnd.sun.star.script:Standard.AutoOpen.Main?language=Basic&amp;location=document\""
      " xlink:type=\"simple\"/></office:event-listeners></office:scripts>\n";
  return fodt("<text:p>A document with an auto-run macro.</text:p>\n", scripts);
}

// The macro as module Module1 of the profile's own Basic library "Standard", which soffice runs
// when given vnd.sun.star.script:Standard.Module1.Main?...location=application.
std::string application_module(const std::string& source) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<!DOCTYPE script:module PUBLIC \"-//OpenOffice.org//DTD OfficeDocument 1.0//EN\" \"module.dtd\">\n"
         "<script:module xmlns:script=\"http://openoffice.org/2000/script\" script:name=\"Module1\" "
         "script:language=\"StarBasic\">" + source + "</script:module>\n";
}
const char* const kRunApplicationMacro =
    "vnd.sun.star.script:Standard.Module1.Main?language=Basic&location=application";

// Opens a tree the test made (as root) to the sandbox's host uid, as the fixture does the job dir.
void open_to_sandbox(const std::string& root) {
  namespace fs = std::filesystem;
  fs::permissions(root, fs::perms::all);
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    fs::permissions(entry.path(), entry.is_directory() ? fs::perms::all
                                                       : fs::perms::owner_read | fs::perms::owner_write |
                                                             fs::perms::group_read | fs::perms::group_write |
                                                             fs::perms::others_read | fs::perms::others_write);
  }
}

class LibreOfficeWorkload : public WorkloadTest {
 protected:
  void SetUp() override {
    WorkloadTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    CONFINE_REQUIRE(have_tool(kSoffice),
                    "LibreOffice is not installed (libreoffice-writer-nogui, libreoffice-calc-nogui)");
    CONFINE_REQUIRE(have_tool("/usr/bin/pdfinfo") && have_tool("/usr/bin/pdftotext"), "poppler-utils is not installed");
  }

  static RunOptions slow(RunOptions options = {}) {
    options.deadline = std::chrono::milliseconds(120000);
    return options;
  }

  // `soffice --headless ARGS` under the shipped policy, as users run it.
  RunResult soffice(const std::vector<std::string>& args, RunOptions options = {}) {
    std::vector<std::string> argv{"soffice", "--headless"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_workload(kPolicy, argv, slow(std::move(options)));
  }

  // The same on the host, in plain/, with its own profile, HOME and TMPDIR there (never the
  // caller's ~/.config/libreoffice).
  ToolResult soffice_unsandboxed(const std::vector<std::string>& args) {
    std::filesystem::create_directories(plain_path("home"));
    std::filesystem::create_directories(plain_path("tmp"));
    std::vector<std::string> argv{"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=" + plain_path("home"),
                                  "TMPDIR=" + plain_path("tmp"), "UserInstallation=file://" + plain_path("lo-profile"),
                                  kSoffice, "--headless"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_unsandboxed(argv);
  }

  // The profile a test gives soffice instead of the policy's fresh one on /tmp: <base>/lo-profile,
  // bound read-write (LibreOffice writes to its profile) and kept across runs.
  std::string profile() const { return base_ + "/lo-profile"; }
  RunOptions with_profile() {
    if (!std::filesystem::exists(profile())) make_writable_dir("lo-profile");
    open_to_sandbox(profile());
    return with_args({"--rw", profile(), "--env", "UserInstallation=file://" + profile()});
  }
  // That profile, holding `config`.
  RunOptions with_profile(const std::string& config) {
    make_writable_dir("lo-profile");
    std::filesystem::create_directories(profile() + "/user");
    write_text(profile() + "/user/registrymodifications.xcu", config);
    return with_profile();
  }
  // LibreOffice filled that profile (so the run had the lowered defences, and the sandboxed
  // assertions are not trivially true).
  bool used_profile() const { return std::filesystem::exists(profile() + "/user/extensions"); }
  void seed_plain_profile(const std::string& config) {
    std::filesystem::create_directories(plain_path("lo-profile/user"));
    write_text(plain_path("lo-profile/user/registrymodifications.xcu"), config);
  }

  std::string pdf_pages(const std::string& path) {
    const ToolResult info = run_unsandboxed({"/usr/bin/pdfinfo", path});
    for (const std::string& line : lines(info.out)) {
      if (line.rfind("Pages:", 0) == 0) return line.substr(line.find_last_of(' ') + 1);
    }
    return "";
  }
  // The PDF's text; streams are compressed, so a canary inside the PDF shows only here.
  std::string pdf_text(const std::string& path) {
    const ToolResult text = run_unsandboxed({"/usr/bin/pdftotext", path, "-"});
    EXPECT_EQ(text.exit_code, 0) << path << "\n" << text.describe();
    return text.out;
  }
  bool contains(const std::string& haystack, const std::string& needle) const {
    return haystack.find(needle) != std::string::npos;
  }

  // What the report says about the memory limit: a cgroup where the controller exists, else the
  // RLIMIT_AS fallback (this policy is sized so that soffice converts under it).
  void expect_memory_limit_reported(const RunResult& r) {
    ASSERT_TRUE(r.report.has_value());
    bool found = false;
    for (const auto& entry : (*r.report)["enforced"]) {
      if (entry["name"] != "memory_limit") continue;
      found = true;
      if (resources_enforced()) {
        EXPECT_EQ(entry["status"], "enforced") << entry.dump();
      } else {
        EXPECT_EQ(entry["status"], "enforced_fallback") << entry.dump();
        EXPECT_TRUE(contains(entry["mechanism"].get<std::string>(), "RLIMIT_AS")) << entry.dump();
      }
    }
    EXPECT_TRUE(found) << r.describe();
  }
};

TEST_F(LibreOfficeWorkload, WriterDocxAndCalcCsvToPdfMatchUnsandboxed) {
  const ToolResult docx = run_unsandboxed({"/usr/bin/python3", "-c", kMakeDocx, job_path("in.docx"),
                                           "Confine Writer page one", "Confine Writer page two"});
  ASSERT_EQ(docx.exit_code, 0) << docx.describe();
  write_text(job_path("sheet.csv"), "fruit,count\napples,3\npears,5\nplums,8\n");
  copy_to_plain("in.docx");
  copy_to_plain("sheet.csv");

  // One soffice converts both: start-up is most of the cost.
  const RunResult r = soffice({"--convert-to", "pdf", "--outdir", kOutArea, "in.docx", "sheet.csv"});
  ASSERT_TRUE(Ended(r, "ok", 0));
  expect_memory_limit_reported(r);
  // Only the PDFs arrive: no lock files, no profile, nothing from /tmp.
  EXPECT_TRUE(Delivered(r, {"in.pdf", "sheet.pdf"}));
  EXPECT_TRUE(NothingWrittenOutside());
  const ToolResult plain = soffice_unsandboxed({"--convert-to", "pdf", "--outdir", plain_out_, "in.docx", "sheet.csv"});
  ASSERT_EQ(plain.exit_code, 0) << plain.describe();

  EXPECT_EQ(pdf_pages(out_path("in.pdf")), "2");
  EXPECT_EQ(pdf_pages(plain_out_path("in.pdf")), "2");
  const std::string writer_text = pdf_text(out_path("in.pdf"));
  EXPECT_TRUE(contains(writer_text, "Confine Writer page one")) << writer_text;
  EXPECT_TRUE(contains(writer_text, "Confine Writer page two")) << writer_text;
  EXPECT_EQ(writer_text, pdf_text(plain_out_path("in.pdf")));

  EXPECT_EQ(pdf_pages(out_path("sheet.pdf")), "1");
  EXPECT_EQ(pdf_pages(plain_out_path("sheet.pdf")), "1");
  const std::string calc_text = pdf_text(out_path("sheet.pdf"));
  EXPECT_TRUE(contains(calc_text, "apples")) << calc_text;
  EXPECT_TRUE(contains(calc_text, "plums")) << calc_text;
  EXPECT_EQ(calc_text, pdf_text(plain_out_path("sheet.pdf")));
}

// Writer sections and images linked (not embedded) to the canary and to the host's loopback.
TEST_F(LibreOfficeWorkload, WriterLinksToHostFilesAndNetworkReachNothing) {
  LoopbackListener listener;
  const std::string body =
      "<text:p>Before the linked sections.</text:p>\n"
      "<text:section text:name=\"FromFile\"><text:section-source xlink:href=\"file://" + canary_ +
      "\" xlink:type=\"simple\" text:filter-name=\"Text\"/><text:p>placeholder-file</text:p></text:section>\n"
      "<text:section text:name=\"FromHttp\"><text:section-source xlink:href=\"" + listener.url() +
      "/section.txt\" xlink:type=\"simple\" text:filter-name=\"Text\"/>"
      "<text:p>placeholder-http</text:p></text:section>\n"
      "<text:p>" + image_linked_to("FileImage", "file://" + canary_) +
      image_linked_to("HttpImage", listener.url() + "/image.png") + "</text:p>\n"
      "<text:p>After the linked sections.</text:p>\n";
  write_text(job_path("links.fodt"), fodt(body));
  copy_to_plain("links.fodt");

  // Sandboxed, with the same lowered defences: the links fail quietly and the document still
  // converts.
  const RunResult r =
      soffice({"--convert-to", "pdf", "--outdir", kOutArea, "links.fodt"}, with_profile(kPermissiveConfig));
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_TRUE(used_profile());
  EXPECT_TRUE(Delivered(r, {"links.pdf"}));
  const std::string text = pdf_text(out_path("links.pdf"));
  EXPECT_TRUE(contains(text, "After the linked sections.")) << text;
  EXPECT_FALSE(contains(text, canary_text_)) << text;  // the PDF's streams are compressed: its text
  EXPECT_TRUE(NoCanaryLeak(r));
  EXPECT_EQ(listener.connections(), 0);
  EXPECT_TRUE(NothingWrittenOutside());

  // Unsandboxed, with link updates allowed, the section pulls the canary into the PDF and the
  // image is fetched from the listener. (The image fetch happens even with LibreOffice's default
  // configuration: graphics are not covered by the link-update setting.)
  seed_plain_profile(kPermissiveConfig);
  const ToolResult plain = soffice_unsandboxed({"--convert-to", "pdf", "--outdir", plain_out_, "links.fodt"});
  ASSERT_EQ(plain.exit_code, 0) << plain.describe();
  EXPECT_TRUE(contains(pdf_text(plain_out_path("links.pdf")), canary_text_))
      << "the linked section did not work unsandboxed";
  EXPECT_GT(listener.connections(), 0) << "the linked image was not fetched unsandboxed";

  EXPECT_TRUE(NothingWrittenOutside());
}

// Calc: WEBSERVICE() to the listener, external references to the canary (direct and through
// INDIRECT), and an image linked to the listener.
TEST_F(LibreOfficeWorkload, CalcWebserviceAndExternalRefsReachNothing) {
  LoopbackListener listener;
  const std::string ref = "'file://" + canary_ + "'#$Sheet1.A1";
  const std::string sheet =
      "<table:shapes>" + image_linked_to("HttpImage", listener.url() + "/calc.png") + "</table:shapes>\n"
      "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>hostile sheet</text:p>"
      "</table:table-cell></table:table-row>\n" +
      formula_row("of:=COM.MICROSOFT.WEBSERVICE(&quot;" + listener.url() + "/webservice&quot;)") +
      formula_row("of:=[" + ref + "]") + formula_row("of:=INDIRECT(&quot;" + ref + "&quot;)");
  write_text(job_path("cells.fods"), fods(sheet));
  copy_to_plain("cells.fods");

  // Sandboxed, with link updates set to "always" in its profile.
  const RunResult r =
      soffice({"--convert-to", "pdf", "--outdir", kOutArea, "cells.fods"}, with_profile(kPermissiveConfig));
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_TRUE(used_profile());
  EXPECT_TRUE(Delivered(r, {"cells.pdf"}));
  const std::string text = pdf_text(out_path("cells.pdf"));
  EXPECT_TRUE(contains(text, "hostile sheet")) << text;
  EXPECT_FALSE(contains(text, canary_text_)) << text;
  EXPECT_TRUE(NoCanaryLeak(r));
  EXPECT_EQ(listener.connections(), 0);
  EXPECT_TRUE(NothingWrittenOutside());

  // Unsandboxed, even with link updates set to "always", LibreOffice 7.4's --convert-to answers
  // WEBSERVICE and the external references with Err:540 (external content not yet allowed by a
  // user): LibreOffice's own defence, so the canary cannot be shown leaking through a cell here.
  // The linked image is still fetched.
  seed_plain_profile(kPermissiveConfig);
  const ToolResult plain = soffice_unsandboxed({"--convert-to", "pdf", "--outdir", plain_out_, "cells.fods"});
  ASSERT_EQ(plain.exit_code, 0) << plain.describe();
  const std::string plain_text = pdf_text(plain_out_path("cells.pdf"));
  EXPECT_TRUE(contains(plain_text, "hostile sheet")) << plain_text;
  EXPECT_TRUE(contains(plain_text, "Err:540")) << plain_text;
  EXPECT_GT(listener.connections(), 0) << "the linked image was not fetched unsandboxed";

  EXPECT_TRUE(NothingWrittenOutside());
}

// A Basic macro that reads the canary and writes outside the job dir.
TEST_F(LibreOfficeWorkload, BasicMacroIsNotRunAndCannotReachOutsideWhenRun) {
  // 1. As a document's auto-run macro, converted as users run it (the profile is kept for steps 2
  // and 3). LibreOffice does not run it: --convert-to loads documents with MacroExecutionMode
  // NEVER_EXECUTE, and the default macro security is "high". The marker it would write is in the
  // output area, which the sandbox allows, so its absence is LibreOffice's doing.
  write_text(job_path("macro.fodt"), document_with_macro(macro_source(canary_, outside_, kOutArea)));
  const RunResult converted = soffice({"--convert-to", "pdf", "--outdir", kOutArea, "macro.fodt"}, with_profile());
  ASSERT_TRUE(Ended(converted, "ok", 0));
  EXPECT_TRUE(Delivered(converted, {"macro.pdf"}));  // and no macro-ran.txt
  EXPECT_EQ(pdf_pages(out_path("macro.pdf")), "1");
  EXPECT_TRUE(NoCanaryLeak(converted));
  EXPECT_TRUE(NothingWrittenOutside());

  // 2. The same code made to run, as the profile's own Basic library (always trusted): on the
  // host it reads the canary and writes it outside the job dir.
  std::filesystem::copy(profile(), plain_path("lo-profile"), std::filesystem::copy_options::recursive);
  write_text(plain_path("lo-profile/user/basic/Standard/Module1.xba"),
             application_module(macro_source(canary_, outside_, plain_)));
  const ToolResult plain_macro = soffice_unsandboxed({kRunApplicationMacro});
  ASSERT_EQ(plain_macro.exit_code, 0) << plain_macro.describe();
  ASSERT_TRUE(read_text(plain_path("macro-ran.txt")).has_value()) << "the macro did not run unsandboxed";
  const auto wrote = read_text(outside_);
  ASSERT_TRUE(wrote.has_value()) << "the macro did not write outside unsandboxed";
  EXPECT_TRUE(contains(*wrote, canary_text_)) << *wrote;
  std::filesystem::remove(outside_);

  // 3. In the sandbox: the macro runs (its marker is delivered from the output area) but reads no
  // canary and writes nothing outside.
  write_text(profile() + "/user/basic/Standard/Module1.xba", application_module(macro_source(canary_, outside_, kOutArea)));
  const RunResult r = soffice({kRunApplicationMacro}, with_profile());
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_TRUE(Delivered(r, {"macro-ran.txt"}));
  const auto marker = read_text(out_path("macro-ran.txt"));
  ASSERT_TRUE(marker.has_value()) << "the macro did not run in the sandbox\n" << r.describe();
  EXPECT_TRUE(contains(*marker, "macro ran")) << *marker;
  EXPECT_FALSE(contains(*marker, canary_text_)) << *marker;
  EXPECT_TRUE(NoCanaryLeak(r));
  EXPECT_TRUE(NothingWrittenOutside());
}

// A document far too long to lay out in the time a job gets: the wall-time limit ends the whole
// job (soffice, oosplash, soffice.bin), not just the process confine started.
TEST_F(LibreOfficeWorkload, HugeDocumentEndsInWallTimeout) {
  std::string body;
  body.reserve(150000 * 80);
  for (int i = 0; i < 150000; ++i) {
    body += "<text:p>Paragraph " + std::to_string(i) + " of a document longer than any job should be.</text:p>\n";
  }
  write_text(job_path("huge.fodt"), fodt(body));
  // Unsandboxed, this document takes well over 30 s on the development machine (not run here:
  // too slow for the suite); a one-page document converts in about 4 s.
  const RunResult r = soffice({"--convert-to", "pdf", "--outdir", kOutArea, "huge.fodt"}, with_args({"--timeout", "10s"}));
  ASSERT_TRUE(EndedByLimit(r, "wall_timeout", 124, "wall_time"));
  EXPECT_LT((*r.report)["times"]["wall_us"].get<int64_t>(), 20'000'000);
  // The area is delivered whatever the outcome (the report says how the job ended): no PDF was
  // finished, but LibreOffice's lock and temp files may be there, depending on how far it got.
  EXPECT_FALSE(std::filesystem::exists(out_path("huge.pdf"))) << r.describe();
  EXPECT_TRUE(NothingWrittenOutside());
}

}  // namespace
}  // namespace integ
