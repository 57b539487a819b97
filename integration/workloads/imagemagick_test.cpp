// ImageMagick 6 under policies/imagemagick.toml: honest SVG->PNG and PNG->JPEG conversions give
// the same pixels as an unsandboxed run; hostile inputs (references to host files, network
// references, output paths outside the output area, MSL scripts, decompression bombs, an image
// cut into more tiles than the output area takes) are stopped. Inputs are read from the job's
// read-only input dir, outputs written to /out and delivered (workload_fixture.h).
//
// Debian's ImageMagick already refuses several classic ImageTragick techniques by itself:
// policy.xml bans the URL/HTTP(S), PS and PDF coders and "@file" indirection, and Debian's
// patches refuse explicit coders ("text:", "msl:", "ftp://", "ephemeral:") inside an SVG's
// <image> and abort on MSL scripts. Those checks are kept below with the sandboxed assertions,
// and a comment says when the unsandboxed run is stopped by ImageMagick itself.
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "workload_fixture.h"

namespace integ {
namespace {

const char* const kConvert = "/usr/bin/convert";  // /usr/local/bin/convert may be something else
const char* const kIdentify = "/usr/bin/identify";

std::string fixture(const std::string& name) { return std::string(CONFINE_WORKLOAD_DIR) + "/fixtures/imagemagick/" + name; }

class ImageMagickWorkload : public WorkloadTest {
 protected:
  void SetUp() override {
    WorkloadTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    CONFINE_REQUIRE(have_tool(kConvert) && have_tool(kIdentify), "ImageMagick is not installed (Debian package imagemagick)");
  }

  // "FORMAT WxH SIGNATURE" of an image, read on the host; the signature is ImageMagick's SHA-256
  // of the pixels, so outputs that differ only in metadata (PNG timestamps) compare equal.
  std::string describe_image(const std::string& path) {
    const ToolResult r = im_plain({kIdentify, "-format", "%m %wx%h %#", path});
    return r.exit_code == 0 ? r.out : "unreadable: " + r.err;
  }

  // The colour of one pixel, e.g. "srgb(255,0,0)".
  std::string pixel(const std::string& path, int x, int y) {
    const ToolResult r = im_plain({kConvert, path, "-alpha", "off", "-format", "%[pixel:p{" + std::to_string(x) + "," + std::to_string(y) + "}]", "info:"});
    return r.out;
  }

  // run_unsandboxed for ImageMagick, its temporary files in the plain dir: when a delegate
  // fails (inkscape for SVG, absent here) ImageMagick leaves magick-* symlinks in its temp dir,
  // which would otherwise pile up in the host's /tmp.
  ToolResult im_plain(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"/usr/bin/env", "MAGICK_TEMPORARY_PATH=" + plain_});
    return run_unsandboxed(argv);
  }

  // ImageMagick said `message` about `what` ("unable to open file `/x'"). Without its message
  // catalog (/usr/share/ImageMagick-6/english.xml) it prints the message's tag instead
  // ("UnableToOpenFile `/x'"): a policy learned from honest runs lacks the catalog, which only an
  // error reads (learned_policies_test.sh runs these tests under one).
  static bool said(const std::string& err, const std::string& message, const std::string& tag, const std::string& what) {
    return err.find(message + " " + what) != std::string::npos || err.find(tag + " " + what) != std::string::npos;
  }

  bool have_svg_coder() {
    const ToolResult r = im_plain({kConvert, "-list", "format"});
    return r.out.find(" SVG  SVG ") != std::string::npos;
  }

  // Writes a file into the plain dir and the job dir alike.
  void write_input(const std::string& name, const std::string& text) {
    write_text(job_path(name), text);
    copy_to_plain(name);
  }
};

const char* const kHonestSvg =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" height=\"120\">\n"
    "  <rect width=\"240\" height=\"120\" fill=\"white\"/>\n"
    "  <rect x=\"10\" y=\"10\" width=\"100\" height=\"60\" fill=\"red\"/>\n"
    "  <circle cx=\"170\" cy=\"60\" r=\"40\" fill=\"blue\" stroke=\"black\" stroke-width=\"3\"/>\n"
    "  <text x=\"10\" y=\"105\" font-family=\"sans-serif\" font-size=\"20\">confine</text>\n"
    "</svg>\n";

TEST_F(ImageMagickWorkload, SvgToPngMatchesUnsandboxed) {
  CONFINE_REQUIRE(have_svg_coder(), "ImageMagick's SVG coder is missing (Debian package libmagickcore-6.q16-6-extra)");
  write_input("in.svg", kHonestSvg);
  // ImageMagick first offers the SVG to inkscape through /bin/sh; the policy masks the shell,
  // so it draws with its built-in renderer, as it does on a host without inkscape.
  const auto argv = [](const std::string& out) { return std::vector<std::string>{kConvert, "in.svg", out + "/out.png"}; };
  const RunResult r = run_workload("imagemagick.toml", argv(kOutArea));
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_TRUE(Delivered(r, {"out.png"}));
  EXPECT_TRUE(NothingWrittenOutside());
  const ToolResult plain = im_plain(argv(plain_out_));
  ASSERT_EQ(plain.exit_code, 0) << plain.describe();
  const std::string sandboxed = describe_image(out_path("out.png"));
  EXPECT_EQ(sandboxed.rfind("PNG 240x120 ", 0), 0U) << sandboxed;
  EXPECT_EQ(sandboxed, describe_image(plain_out_path("out.png")));
  EXPECT_EQ(pixel(out_path("out.png"), 50, 40), "srgb(255,0,0)");
}

TEST_F(ImageMagickWorkload, PngToJpegResizeMatchesUnsandboxed) {
  const ToolResult made = im_plain({kConvert, "-size", "640x480", "plasma:fractal", "-seed", "7", "in.png"});
  ASSERT_EQ(made.exit_code, 0) << made.describe();
  std::filesystem::copy_file(plain_path("in.png"), job_path("in.png"));
  const auto argv = [](const std::string& out) {
    return std::vector<std::string>{kConvert, "in.png", "-resize", "50%", "-quality", "85", out + "/out.jpg"};
  };
  const RunResult r = run_workload("imagemagick.toml", argv(kOutArea));
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_TRUE(Delivered(r, {"out.jpg"}));
  ASSERT_EQ(im_plain(argv(plain_out_)).exit_code, 0);
  const std::string sandboxed = describe_image(out_path("out.jpg"));
  EXPECT_EQ(sandboxed.rfind("JPEG 320x240 ", 0), 0U) << sandboxed;
  EXPECT_EQ(sandboxed, describe_image(plain_out_path("out.jpg")));
  EXPECT_TRUE(read_text(out_path("out.jpg")) == read_text(plain_out_path("out.jpg"))) << "JPEG bytes differ";
}

TEST_F(ImageMagickWorkload, PdfIsRefusedByImageMagicksOwnPolicy) {
  CONFINE_REQUIRE(have_tool("/usr/bin/gs"), "Ghostscript is not installed (makes the PDF)");
  const ToolResult made = run_unsandboxed({"/usr/bin/gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pdfwrite",
                                           "-sOutputFile=in.pdf", "-c", "72 72 moveto 300 300 lineto stroke showpage"});
  ASSERT_EQ(made.exit_code, 0) << made.describe();
  std::filesystem::copy_file(plain_path("in.pdf"), job_path("in.pdf"));
  // Debian's policy.xml refuses the PDF coder, so ImageMagick never starts Ghostscript; the
  // sandbox must carry policy.xml in for that to hold inside too. Use policies/ghostscript.toml.
  const RunResult r = run_workload("imagemagick.toml", {kConvert, "in.pdf", "/out/out.png"});
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  if (learned_policies()) {
    // A policy learned from the honest conversions has no PDF coder at all (they never loaded
    // coders/pdf.so): ImageMagick refuses the input before it asks policy.xml.
    EXPECT_NE(r.err.find("NoDecodeDelegateForThisImageFormat `PDF'"), std::string::npos) << r.describe();
  } else {
    EXPECT_TRUE(said(r.err, "not allowed by the security policy", "NotAuthorized", "`PDF'")) << r.describe();
  }
  EXPECT_TRUE(Delivered(r, {}));
}

TEST_F(ImageMagickWorkload, SvgReferencesToHostFilesFindNothing) {
  CONFINE_REQUIRE(have_svg_coder(), "ImageMagick's SVG coder is missing (Debian package libmagickcore-6.q16-6-extra)");
  // A host image outside the job dir (the plain dir is never bound), drawn into the output when
  // the reference can be followed.
  ASSERT_EQ(im_plain({kConvert, "-size", "50x50", "xc:red", plain_path("host-secret.png")}).exit_code, 0);
  const std::string svg_head =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"100\" height=\"100\">\n"
      "<rect width=\"100\" height=\"100\" fill=\"white\"/>\n";
  write_input("image.svg", svg_head + "<image x=\"0\" y=\"0\" width=\"50\" height=\"50\" xlink:href=\"" +
                               plain_path("host-secret.png") + "\"/>\n</svg>\n");
  const RunResult image = run_workload("imagemagick.toml", {kConvert, "image.svg", "/out/image.png"});
  EXPECT_NE(image.outcome(), "setup_error") << image.describe();
  EXPECT_TRUE(!std::filesystem::exists(out_path("image.png")) || pixel(out_path("image.png"), 25, 25) != "srgb(255,0,0)")
      << "the host image was drawn into the sandboxed output";
  ASSERT_EQ(im_plain({kConvert, "image.svg", plain_out_path("image.png")}).exit_code, 0);
  EXPECT_EQ(pixel(plain_out_path("image.png"), 25, 25), "srgb(255,0,0)") << "the unsandboxed run did not follow the reference";

  // The canary by plain path (the TXT coder reads it) and through explicit coders (refused by
  // Debian's ImageMagick itself inside SVG; kept for a build without that patch).
  write_input("canary.svg", svg_head + "<image width=\"10\" height=\"10\" xlink:href=\"" + canary_ + "\"/>\n"
                                "<image width=\"10\" height=\"10\" xlink:href=\"text:" + canary_ + "\"/>\n"
                                "<image width=\"10\" height=\"10\" xlink:href=\"ephemeral:" + canary_ + "\"/>\n</svg>\n");
  const RunResult canary = run_workload("imagemagick.toml", {kConvert, "canary.svg", "/out/canary.png"});
  EXPECT_TRUE(Ended(canary, "exit_nonzero", 1));
  // Absent from the new root ("unable to open file"); in Landlock mode there but refused, which
  // ImageMagick reports as "unable to open image".
  EXPECT_TRUE(ran_in_landlock_mode(canary) ? said(canary.err, "unable to open image", "UnableToOpenImage", "`" + canary_ + "'")
                                           : said(canary.err, "unable to open file", "UnableToOpenFile", "`" + canary_ + "'"))
      << canary.describe();
  EXPECT_TRUE(NoCanaryLeak(canary));
  EXPECT_TRUE(std::filesystem::exists(canary_)) << "ephemeral: deleted the canary";
  EXPECT_TRUE(NothingWrittenOutside());
  // Unsandboxed, ImageMagick opens and reads the canary (then finds no image header in it).
  const ToolResult plain = im_plain({kConvert, "canary.svg", plain_out_path("canary.png")});
  EXPECT_NE(plain.err.find("improper image header `" + canary_ + "'"), std::string::npos) << plain.describe();
  EXPECT_TRUE(NothingWrittenOutside());
}

TEST_F(ImageMagickWorkload, NetworkReferencesNeverConnect) {
  LoopbackListener listener;
  const std::string port = std::to_string(listener.port());
  // An input name that is a URL (a service passing a user's "source" through). Debian's
  // policy.xml does not refuse the FTP coder: unsandboxed this connects. Here socket() ends it.
  const auto ftp = [&](const std::string& out) {
    return std::vector<std::string>{kConvert, "ftp://127.0.0.1:" + port + "/x.png", out + "/out.png"};
  };
  const RunResult r = run_workload("imagemagick.toml", ftp(kOutArea));
  if (learned_policies()) {
    // A policy learned from local conversions has no URL coder (coders/url.so): the input is not
    // even tried, and no socket() is made. The listener's count below says no connection either way.
    EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  } else {
    EXPECT_TRUE(KilledBySeccomp(r, "socket"));
  }
  EXPECT_TRUE(Delivered(r, {}));

  // References inside an SVG: http (refused by policy.xml), ftp (refused by Debian's SVG
  // patch) and an external DTD (libxml2 does not fetch it). ImageMagick stops these itself.
  write_text(job_path("net.svg"),
             "<?xml version=\"1.0\" standalone=\"no\"?>\n<!DOCTYPE svg SYSTEM \"" + listener.url() + "\">\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"20\" height=\"20\">\n"
             "<image width=\"10\" height=\"10\" xlink:href=\"" + listener.url() + "\"/>\n"
             "<image width=\"10\" height=\"10\" xlink:href=\"ftp://127.0.0.1:" + port + "/y.png\"/>\n</svg>\n");
  const RunResult svg = run_workload("imagemagick.toml", {kConvert, "net.svg", "/out/net.png"});
  EXPECT_NE(svg.outcome(), "setup_error") << svg.describe();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(listener.connections(), 0);

  (void)im_plain(ftp(plain_out_));
  for (int i = 0; i < 100 && listener.connections() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(listener.connections(), 1) << "the unsandboxed ftp:// input did not connect";
}

TEST_F(ImageMagickWorkload, NothingIsWrittenOutsideTheOutputArea) {
  ASSERT_EQ(im_plain({kConvert, "-size", "8x8", "xc:red", "in.png"}).exit_code, 0);
  std::filesystem::copy_file(plain_path("in.png"), job_path("in.png"));
  // An output name chosen by the uploader, pointing outside the job dir.
  const std::vector<std::string> argv{kConvert, "in.png", outside_};
  const RunResult r = run_workload("imagemagick.toml", argv);
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  EXPECT_TRUE(Delivered(r, {}));
  EXPECT_TRUE(NothingWrittenOutside());

  // One pointing into the job's input dir, replacing the input itself: read-only. (Unsandboxed,
  // in the plain dir, it replaces the input.)
  const std::vector<std::string> over{kConvert, "-size", "8x8", "xc:blue", "in.png"};
  const RunResult over_input = run_workload("imagemagick.toml", over);
  EXPECT_TRUE(Ended(over_input, "exit_nonzero", 1));
  EXPECT_TRUE(Delivered(over_input, {}));
  EXPECT_TRUE(NothingWrittenOutside());
  EXPECT_EQ(pixel(job_path("in.png"), 0, 0), "srgb(255,0,0)");
  ASSERT_EQ(im_plain(over).exit_code, 0);
  EXPECT_EQ(pixel(plain_path("in.png"), 0, 0), "srgb(0,0,255)");

  // An MSL script that copies an image to the same place. Debian's ImageMagick 6.9.11 aborts
  // on MSL (SIGABRT) before it writes, sandboxed or not; the sandbox would stop the write anyway.
  write_input("evil.msl",
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<image>\n<read filename=\"in.png\"/>\n<write filename=\"" +
                  outside_ + "\"/>\n</image>\n");
  const RunResult msl = run_workload("imagemagick.toml", {kConvert, "msl:evil.msl", "/out/out.png"});
  EXPECT_NE(msl.outcome(), "ok") << msl.describe();
  EXPECT_NE(msl.outcome(), "setup_error") << msl.describe();
  EXPECT_TRUE(NothingWrittenOutside());

  // Unsandboxed, the output name is simply honoured.
  ASSERT_EQ(im_plain(argv).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(outside_));
  std::filesystem::remove(outside_);
}

TEST_F(ImageMagickWorkload, DecompressionBombsEnd) {
  std::filesystem::copy_file(fixture("bomb-5000x5000.png"), job_path("bomb.png"));
  std::filesystem::copy_file(fixture("bomb-17000x17000.png"), job_path("huge.png"));
  // 3 KB that decode to 25 megapixels, inside policy.xml's caps: ImageMagick decodes it (about
  // 450 MiB, spilling to /tmp, and 3-5 s on this machine). The job's time limit ends it.
  const RunResult bomb = run_workload("imagemagick.toml", {kConvert, "bomb.png", "-resize", "50%", "/out/bomb.jpg"},
                                      with_args({"--timeout", "1s"}));
  EXPECT_TRUE(Ended(bomb, "wall_timeout", 124));
  EXPECT_TRUE(NothingWrittenOutside());

  // 35 KB that would decode to 289 megapixels: past policy.xml's caps, so ImageMagick gives up at
  // once. This shows policy.xml is in force inside the sandbox (the policy binds it).
  const RunResult huge = run_workload("imagemagick.toml", {kConvert, "huge.png", "-resize", "50%", "/out/huge.jpg"});
  EXPECT_TRUE(Ended(huge, "exit_nonzero", 1));
  EXPECT_TRUE(Delivered(huge, {}));
}

// An image cut into 256 tiles, one file each, where a service expects one output: the output
// area holds at most its `files` (32 here, 10000 by default), ImageMagick fails at the first file
// the area refuses, and no more than that is delivered.
TEST_F(ImageMagickWorkload, TilesPastTheOutputAreasFileCapAreNotDelivered) {
  ASSERT_EQ(im_plain({kConvert, "-size", "64x64", "xc:red", "in.png"}).exit_code, 0);
  std::filesystem::copy_file(plain_path("in.png"), job_path("in.png"));
  const auto tiles = [](const std::string& out) {
    return std::vector<std::string>{kConvert, "in.png", "-crop", "4x4", out + "/tile-%d.png"};
  };
  const RunResult r = run_workload(policy_with_output_files("imagemagick.toml", 32), tiles(kOutArea));
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  std::set<std::string> delivered;
  for (int i = 0; i < 32; ++i) delivered.insert("tile-" + std::to_string(i) + ".png");
  EXPECT_TRUE(Delivered(r, delivered));
  EXPECT_TRUE(NothingWrittenOutside());

  // Unsandboxed, every tile is written.
  ASSERT_EQ(im_plain(tiles(plain_out_)).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(plain_out_path("tile-255.png")));
}

}  // namespace
}  // namespace integ
