// policies/pandoc.toml with Debian's pandoc: honest conversions between markdown, HTML and docx
// compared with the same commands run without confine, then documents that pull in local files
// (images embedded into docx and --self-contained HTML, LaTeX \input and \lstinputlisting),
// reach the network (remote images, iframes) or keep the parser busy. Inputs are read from the
// job's read-only input dir, outputs written to /out and delivered (workload_fixture.h).
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "workload_fixture.h"

namespace integ {
namespace {

const char* const kPandoc = "/usr/bin/pandoc";
const char* const kPython = "/usr/bin/python3";  // only to read zip members on the host side

const char* const kMarkdown =
    "# Title\n\nHello *world*, a [link](https://example.org).\n\n- one\n- two\n\n"
    "| x | y |\n|---|---|\n| 1 | 2 |\n\n```\ncode block\n```\n";
const char* const kHtml =
    "<html><head><title>t</title></head><body><h1>Head</h1><p>Para <em>em</em> "
    "<a href=\"https://example.org\">link</a>.</p><ul><li>one</li><li>two</li></ul></body></html>\n";

// %XX escapes decoded (data: URIs in --self-contained HTML are percent-encoded).
std::string percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string base64(const std::string& data) {
  static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i + 2 < data.size(); i += 3) {  // whole groups only: a prefix to search for
    const auto b = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(data[i + k])); };
    const unsigned n = (b(0) << 16U) | (b(1) << 8U) | b(2);
    for (unsigned shift : {18U, 12U, 6U, 0U}) out.push_back(kAlphabet[(n >> shift) & 63U]);
  }
  return out;
}

class PandocWorkload : public WorkloadTest {
 protected:
  void SetUp() override {
    WorkloadTest::SetUp();
    if (HasFatalFailure()) return;
    CONFINE_REQUIRE(have_tool(kPandoc), "needs pandoc (Debian package pandoc)");
    CONFINE_REQUIRE(have_tool(kPython), "needs /usr/bin/python3 to read docx (zip) members");
  }

  // The members of a zip (docx) whose names start with `prefix`, decompressed and concatenated
  // in name order; "<unreadable>" when it is not a zip.
  std::string zip_members(const std::string& path, const std::string& prefix) {
    const ToolResult r = run_unsandboxed(
        {kPython, "-c",
         "import sys, zipfile\n"
         "z = zipfile.ZipFile(sys.argv[1])\n"
         "sys.stdout.buffer.write(b''.join(z.read(n) for n in sorted(z.namelist()) if n.startswith(sys.argv[2])))\n",
         path, prefix});
    return r.exit_code == 0 ? r.out : "<unreadable>";
  }

  // The canary as it may appear in a document: plain, percent-encoded (data: URIs), base64.
  [[nodiscard]] bool mentions_canary(const std::string& text) const {
    return text.find(canary_text_) != std::string::npos || percent_decode(text).find(canary_text_) != std::string::npos ||
           text.find(base64(canary_text_ + "\n")) != std::string::npos;
  }

  // Sandboxed and plain runs of the same conversion of `input` (copied from the job dir to the
  // plain dir), `pandoc ARGS -o <out>/OUTPUT`; both must succeed, and the sandboxed one delivers
  // OUTPUT alone.
  void convert_both(const std::vector<std::string>& args, const std::string& output, const std::string& input) {
    const auto argv = [&](const std::string& out) {
      std::vector<std::string> all{kPandoc};
      all.insert(all.end(), args.begin(), args.end());
      all.insert(all.end(), {"-o", out + "/" + output});
      return all;
    };
    const RunResult r = run_workload("pandoc.toml", argv(kOutArea));
    ASSERT_TRUE(Ended(r, "ok", 0));
    ASSERT_TRUE(Delivered(r, {output}));
    copy_to_plain(input);
    const ToolResult plain = run_unsandboxed(argv(plain_out_));
    ASSERT_EQ(plain.exit_code, 0) << plain.describe();
  }
};

TEST_F(PandocWorkload, ConvertsLikeTheUnsandboxedRun) {
  write_text(job_path("in.md"), kMarkdown);
  write_text(job_path("page.html"), kHtml);

  convert_both({"in.md"}, "out.html", "in.md");
  const auto html = read_text(out_path("out.html"));
  ASSERT_TRUE(html.has_value());
  EXPECT_NE(html->find("<em>world</em>"), std::string::npos) << *html;
  EXPECT_EQ(html, read_text(plain_out_path("out.html")));

  // A standalone page with everything inlined (pandoc's HTML template, its data files), as the
  // hostile tests below convert too.
  convert_both({"--self-contained", "--metadata", "title=t", "in.md"}, "standalone.html", "in.md");
  const auto standalone = read_text(out_path("standalone.html"));
  ASSERT_TRUE(standalone.has_value());
  EXPECT_NE(standalone->find("<title>t</title>"), std::string::npos) << *standalone;
  EXPECT_EQ(standalone, read_text(plain_out_path("standalone.html")));

  // A docx carries timestamps in its zip entries and properties, so the document body is compared.
  convert_both({"in.md"}, "out.docx", "in.md");
  const std::string body = zip_members(out_path("out.docx"), "word/document.xml");
  EXPECT_NE(body.find("Hello"), std::string::npos) << body;
  EXPECT_EQ(body, zip_members(plain_out_path("out.docx"), "word/document.xml"));

  // The delivered docx is the next input, for both runs.
  take_delivered("out.docx");
  convert_both({"out.docx", "-t", "markdown"}, "back.md", "out.docx");
  const auto back = read_text(out_path("back.md"));
  ASSERT_TRUE(back.has_value());
  EXPECT_NE(back->find("Hello *world*"), std::string::npos) << *back;
  EXPECT_EQ(back, read_text(plain_out_path("back.md")));

  convert_both({"out.docx", "-t", "html"}, "back.html", "out.docx");
  EXPECT_EQ(read_text(out_path("back.html")), read_text(plain_out_path("back.html")));

  convert_both({"-f", "html", "-t", "markdown", "page.html"}, "page.md", "page.html");
  const auto page = read_text(out_path("page.md"));
  ASSERT_TRUE(page.has_value());
  EXPECT_NE(page->find("[link](https://example.org)"), std::string::npos) << *page;
  EXPECT_EQ(page, read_text(plain_out_path("page.md")));
  EXPECT_TRUE(NothingWrittenOutside());
}

// `![](/path)` embeds a local file into the docx (word/media/) and, with --self-contained, into
// the HTML as a data: URI, whatever the file is.
TEST_F(PandocWorkload, ImageReferenceCannotEmbedTheCanary) {
  write_text(job_path("img.md"), "Before.\n\n![secret](" + canary_ + ")\n\nAfter.\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> conversions{
      {{kPandoc, "img.md", "-o"}, "img.docx"},
      {{kPandoc, "--self-contained", "--metadata", "title=t", "img.md", "-o"}, "img.html"},
  };
  copy_to_plain("img.md");
  for (const auto& [args, output] : conversions) {
    SCOPED_TRACE(output);
    std::vector<std::string> argv = args;
    argv.push_back(std::string(kOutArea) + "/" + output);
    const RunResult r = run_workload("pandoc.toml", argv);
    // pandoc stops: "openBinaryFile: does not exist".
    EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
    EXPECT_TRUE(NoCanaryLeak(r));
    const auto out = read_text(out_path(output));
    if (out) {
      EXPECT_FALSE(mentions_canary(*out) || mentions_canary(zip_members(out_path(output), "")));
    }

    argv.back() = plain_out_path(output);
    const ToolResult plain = run_unsandboxed(argv);
    EXPECT_EQ(plain.exit_code, 0) << plain.describe();
    const std::string leaked = output == "img.docx" ? zip_members(plain_out_path("img.docx"), "word/media/")
                                                    : read_text(plain_out_path("img.html")).value_or("");
    EXPECT_TRUE(mentions_canary(leaked)) << "the unsandboxed run should have embedded the canary\n" << leaked;
  }
  EXPECT_TRUE(NothingWrittenOutside());
}

// The LaTeX reader expands file inclusions: \lstinputlisting copies a file verbatim into a code
// block; \input and \include read .tex files (pandoc adds the extension).
TEST_F(PandocWorkload, LatexInclusionCannotReadTheCanary) {
  write_text(job_path("doc.tex"), "\\documentclass{article}\n\\begin{document}\nIntro.\n\\lstinputlisting{" + canary_ +
                                      "}\n\\input{" + canary_ + "}\n\\include{" + canary_ + "}\n\\end{document}\n");
  const auto argv = [](const std::string& out) {
    return std::vector<std::string>{kPandoc, "-f", "latex", "-t", "plain", "doc.tex", "-o", out + "/doc.txt"};
  };
  const RunResult r = run_workload("pandoc.toml", argv(kOutArea));
  // Missing includes are warnings: the document converts without them.
  EXPECT_TRUE(Ended(r, "ok", 0));
  EXPECT_NE(r.err.find("Could not load include file"), std::string::npos) << r.describe();
  EXPECT_TRUE(NoCanaryLeak(r));
  EXPECT_TRUE(Delivered(r, {"doc.txt"}));
  const auto text = read_text(out_path("doc.txt"));
  ASSERT_TRUE(text.has_value());
  EXPECT_NE(text->find("Intro."), std::string::npos) << *text;

  copy_to_plain("doc.tex");
  const ToolResult plain = run_unsandboxed(argv(plain_out_));
  EXPECT_EQ(plain.exit_code, 0) << plain.describe();
  EXPECT_NE(read_text(plain_out_path("doc.txt")).value_or("").find(canary_text_), std::string::npos)
      << "the unsandboxed run should have included the canary";
  EXPECT_TRUE(NothingWrittenOutside());
}

// Remote resources: an <img> fetched for docx and --self-contained output, and an <iframe> the
// HTML reader fetches to parse. socket() is allowed by the policy (see its header), so the
// fetches fail in the empty network namespace and pandoc converts the rest.
TEST_F(PandocWorkload, RemoteResourcesNeverReachTheHost) {
  LoopbackListener listener;
  const std::string base = "http://127.0.0.1:" + std::to_string(listener.port());
  write_text(job_path("remote.html"), "<html><head><title>t</title></head><body><p>Text.</p><img src=\"" + base +
                                          "/x.png\"><iframe src=\"" + base + "/frame.html\"></iframe></body></html>\n");
  struct Conversion {
    std::vector<std::string> argv;
    std::string outcome;
    int exit_code;
    std::set<std::string> delivered;
  };
  const std::vector<Conversion> conversions{
      // docx and markdown keep going without the remote image ("Replacing image with
      // description") and the iframe.
      {{kPandoc, "-f", "html", "remote.html", "-o", "/out/remote.docx"}, "ok", 0, {"remote.docx"}},
      {{kPandoc, "-f", "html", "-t", "markdown", "remote.html", "-o", "/out/remote.md"}, "ok", 0, {"remote.md"}},
      // --self-contained cannot do without any resource: pandoc's PandocHttpError, exit 61.
      {{kPandoc, "-f", "html", "--self-contained", "remote.html", "-o", "/out/remote.out.html"}, "exit_nonzero", 61, {}},
  };
  for (const auto& conversion : conversions) {
    SCOPED_TRACE(conversion.argv.back());
    const RunResult r = run_workload("pandoc.toml", conversion.argv);
    EXPECT_TRUE(Ended(r, conversion.outcome, conversion.exit_code));
    EXPECT_NE(r.err.find("Could not fetch"), std::string::npos) << r.describe();
    EXPECT_EQ(listener.connections(), 0);
    EXPECT_TRUE(Delivered(r, conversion.delivered));
  }

  copy_to_plain("remote.html");
  const ToolResult plain = run_unsandboxed({kPandoc, "-f", "html", "remote.html", "-o", plain_out_path("remote.docx")});
  for (int i = 0; i < 100 && listener.connections() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(listener.connections(), 1) << "the unsandboxed run should have connected\n" << plain.describe();
}

// Four kilobytes of nested brackets keep the markdown reader busy for minutes (measured: more
// than 20 s at 2,000 levels on pandoc 2.17) while its heap grows. The wall-time limit ends it.
// Not run unsandboxed: it would take that long.
TEST_F(PandocWorkload, NestedBracketsEndAtTheWallTimeLimit) {
  write_text(job_path("bomb.md"), std::string(2000, '[') + "x" + std::string(2000, ']') + "\n");
  const RunResult r = run_workload("pandoc.toml", {kPandoc, "bomb.md", "-o", "/out/bomb.html"}, with_args({"--timeout", "3s"}));
  EXPECT_TRUE(EndedByLimit(r, "wall_timeout", 124, "wall_time"));
  EXPECT_TRUE(NothingWrittenOutside());
}

}  // namespace
}  // namespace integ
