// policies/ffmpeg.toml with Debian's ffmpeg: honest transcodes and thumbnails compared with the
// same commands run without confine, then media files that name other files, URLs and output
// paths, an input without an end, and more frames than the output area takes. Inputs are read
// from the job's read-only input dir, outputs written to /out and delivered (workload_fixture.h);
// a step's output is the next step's input, as in a service's pipeline.
//
// The test media are made at test time from ffmpeg's own lavfi sources (testsrc, sine), so no
// binary fixture is shipped.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "workload_fixture.h"

namespace integ {
namespace {

const char* const kFfmpeg = "/usr/bin/ffmpeg";
const char* const kFfprobe = "/usr/bin/ffprobe";
const char* const kIdentify = "/usr/bin/identify";  // ImageMagick 6, not /usr/local/bin

// ffmpeg's quiet prefix: no terminal in a job, no banner, errors only.
std::vector<std::string> ffmpeg(std::vector<std::string> args) {
  std::vector<std::string> argv{kFfmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// A 3 s 320x240 clip: H.264 (libx264, deterministic) and AAC, from lavfi sources.
std::vector<std::string> make_clip_argv(const std::string& out) {
  return ffmpeg({"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=3", "-f", "lavfi", "-i",
                 "sine=frequency=440:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                 "-shortest", out});
}

class FfmpegWorkload : public WorkloadTest {
 protected:
  void SetUp() override {
    WorkloadTest::SetUp();
    if (HasFatalFailure()) return;
    CONFINE_REQUIRE(have_tool(kFfmpeg) && have_tool(kFfprobe), "needs ffmpeg and ffprobe (Debian package ffmpeg)");
  }

  // The container duration in seconds as ffprobe on the host reads it; -1 when it cannot.
  double duration_s(const std::string& path) {
    const ToolResult r = run_unsandboxed({kFfprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path});
    if (r.exit_code != 0) return -1;
    try {
      return std::stod(r.out);
    } catch (const std::exception&) {
      return -1;
    }
  }

  // "WxH" of the first video stream.
  std::string video_size(const std::string& path) {
    const ToolResult r = run_unsandboxed({kFfprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                                          "stream=width,height", "-of", "csv=p=0:s=x", path});
    return r.exit_code == 0 ? first_line(r.out) : "<ffprobe failed: " + r.err + ">";
  }

  // The honest clip, made under the policy (asserted ok), delivered and put in the job dir.
  void make_clip(const std::string& name) {
    const RunResult r = run_workload("ffmpeg.toml", make_clip_argv(std::string(kOutArea) + "/" + name));
    ASSERT_TRUE(Ended(r, "ok", 0));
    ASSERT_TRUE(Delivered(r, {name}));
    take_delivered(name);
  }
};

TEST_F(FfmpegWorkload, TranscodesLikeTheUnsandboxedRun) {
  // Encode from lavfi sources: the sandboxed and the plain mp4 are byte for byte the same.
  const RunResult made = run_workload("ffmpeg.toml", make_clip_argv("/out/clip.mp4"));
  ASSERT_TRUE(Ended(made, "ok", 0));
  EXPECT_TRUE(Delivered(made, {"clip.mp4"}));
  const ToolResult plain_made = run_unsandboxed(make_clip_argv(plain_out_path("clip.mp4")));
  ASSERT_EQ(plain_made.exit_code, 0) << plain_made.describe();
  EXPECT_EQ(read_text(out_path("clip.mp4")), read_text(plain_out_path("clip.mp4")));

  // Transcode mp4 -> webm (VP8 + Opus), each from its own mp4. The Matroska muxer writes random
  // UIDs, so the outputs are compared by what they contain.
  take_delivered("clip.mp4");
  take_plain_output("clip.mp4");
  const auto to_webm = [](const std::string& out) {
    return ffmpeg({"-i", "clip.mp4", "-c:v", "libvpx", "-b:v", "200k", "-c:a", "libopus", out + "/clip.webm"});
  };
  const RunResult r = run_workload("ffmpeg.toml", to_webm(kOutArea));
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_TRUE(Delivered(r, {"clip.webm"}));
  EXPECT_TRUE(NothingWrittenOutside());
  const ToolResult plain = run_unsandboxed(to_webm(plain_out_));
  ASSERT_EQ(plain.exit_code, 0) << plain.describe();
  const double sandboxed_s = duration_s(out_path("clip.webm"));
  EXPECT_NEAR(sandboxed_s, 3.0, 0.1);
  EXPECT_NEAR(sandboxed_s, duration_s(plain_out_path("clip.webm")), 0.01);
  EXPECT_EQ(video_size(out_path("clip.webm")), "320x240");
  EXPECT_EQ(video_size(out_path("clip.webm")), video_size(plain_out_path("clip.webm")));

  // ffprobe works under the policy too, and agrees with the host.
  take_delivered("clip.webm");
  const RunResult probed = run_workload(
      "ffmpeg.toml", {kFfprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", "clip.webm"});
  ASSERT_TRUE(Ended(probed, "ok", 0));
  EXPECT_NEAR(std::stod(first_line(probed.out)), sandboxed_s, 0.001) << probed.describe();
}

TEST_F(FfmpegWorkload, ThumbnailIsTheSamePngAsUnsandboxed) {
  make_clip("clip.mp4");
  if (HasFatalFailure()) return;
  copy_to_plain("clip.mp4");
  const auto thumb = [](const std::string& out) {
    return ffmpeg({"-ss", "1", "-i", "clip.mp4", "-frames:v", "1", out + "/thumb.png"});
  };
  const RunResult r = run_workload("ffmpeg.toml", thumb(kOutArea));
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_TRUE(Delivered(r, {"thumb.png"}));
  const ToolResult plain = run_unsandboxed(thumb(plain_out_));
  ASSERT_EQ(plain.exit_code, 0) << plain.describe();
  const auto png = read_text(out_path("thumb.png"));
  ASSERT_TRUE(png.has_value());
  EXPECT_EQ(png, read_text(plain_out_path("thumb.png")));  // the PNG encoder is deterministic
  if (have_tool(kIdentify)) {
    const ToolResult size = run_unsandboxed({kIdentify, "-format", "%m %wx%h", out_path("thumb.png")});
    EXPECT_EQ(size.out, "PNG 320x240") << size.describe();
  }
}

// A concat list (ffconcat) naming the canary, plainly and through the file: and subfile:
// protocols, with the concat demuxer's own guard off (-safe 0) and on (-safe 1, the default,
// refuses absolute paths by itself). `-c copy -f data` would copy whatever it demuxed.
TEST_F(FfmpegWorkload, ConcatListCannotReadTheCanary) {
  const std::vector<std::string> references{canary_, "file:" + canary_, "subfile,,start,0,end,0,,:" + canary_};
  for (const std::string& reference : references) {
    for (const char* safe : {"0", "1"}) {
      SCOPED_TRACE(reference + " with -safe " + safe);
      write_text(job_path("list.ffconcat"), "ffconcat version 1.0\nfile '" + reference + "'\n");
      const auto argv = [&](const std::string& out) {
        return ffmpeg({"-safe", safe, "-i", "list.ffconcat", "-map", "0", "-c", "copy", "-f", "data", out + "/leak.bin"});
      };
      const RunResult r = run_workload("ffmpeg.toml", argv(kOutArea));
      EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
      EXPECT_TRUE(NoCanaryLeak(r));
      if (std::string(safe) == "0" && reference.rfind("subfile", 0) != 0) {
        // In the sandbox the file does not exist at all...
        EXPECT_NE(r.err.find("list.ffconcat: No such file or directory"), std::string::npos) << r.describe();
        // ...while without it ffmpeg opened and read it, and only rejected its content (a text
        // file is no media format; see the HLS test for a format that carries it through).
        copy_to_plain("list.ffconcat");
        const ToolResult plain = run_unsandboxed(argv(plain_out_));
        EXPECT_NE(plain.err.find("Invalid data found when processing input"), std::string::npos) << plain.describe();
      }
    }
  }
  EXPECT_TRUE(NothingWrittenOutside());
}

// An HLS playlist whose second segment is the canary. Segments are fed to one demuxer as one
// stream, so after a raw MPEG-1 video segment the canary's bytes end up in the last packet and
// `-c copy` writes them out. Debian's ffmpeg refuses this by itself (the segment's .txt
// extension, and extension_picky); a service that relaxes those switches leaks the canary
// without confine, and still nothing with it.
TEST_F(FfmpegWorkload, HlsPlaylistCannotPullTheCanaryIntoTheOutput) {
  const RunResult seg = run_workload(
      "ffmpeg.toml", ffmpeg({"-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=1", "-c:v", "mpeg1video", "-f",
                             "mpeg1video", "/out/seg0.mpg"}));
  ASSERT_TRUE(Ended(seg, "ok", 0));
  take_delivered("seg0.mpg");
  write_text(job_path("leak.m3u8"), "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg0.mpg\n#EXTINF:1,\nfile://" +
                                        canary_ + "\n#EXT-X-ENDLIST\n");
  const std::vector<std::string> relaxed{"-allowed_extensions", "ALL", "-allowed_segment_extensions", "ALL",
                                         "-extension_picky", "0"};
  const auto output = [](const std::string& out) {
    return std::vector<std::string>{"-i", "leak.m3u8", "-map", "0", "-c", "copy", "-f", "mpeg1video", out + "/out.m1v"};
  };

  // ffmpeg's defaults: refused by ffmpeg itself; the sandboxed run leaks nothing either.
  const RunResult guarded = run_workload("ffmpeg.toml", ffmpeg(output(kOutArea)));
  EXPECT_TRUE(Ended(guarded, "exit_nonzero", 1));
  EXPECT_TRUE(NoCanaryLeak(guarded));

  const auto args = [&](const std::string& out) {
    std::vector<std::string> all = relaxed;
    const auto rest = output(out);
    all.insert(all.end(), rest.begin(), rest.end());
    return ffmpeg(all);
  };
  const RunResult r = run_workload("ffmpeg.toml", args(kOutArea));
  // The first segment converts (and out.m1v is delivered); the canary segment is missing inside
  // the sandbox.
  EXPECT_FALSE(r.outcome() == "setup_error") << r.describe();
  EXPECT_TRUE(Delivered(r, {"out.m1v"}));
  EXPECT_TRUE(NoCanaryLeak(r));

  copy_to_plain("seg0.mpg");
  copy_to_plain("leak.m3u8");
  const ToolResult plain = run_unsandboxed(args(plain_out_));
  EXPECT_EQ(plain.exit_code, 0) << plain.describe();
  const auto leaked = read_text(plain_out_path("out.m1v"));
  ASSERT_TRUE(leaked.has_value()) << plain.describe();
  EXPECT_NE(leaked->find(canary_text_), std::string::npos) << "the unsandboxed run should have copied the canary";
  EXPECT_TRUE(NothingWrittenOutside());
}

// An HLS playlist whose segment is on the host's loopback. With ffmpeg's default protocol
// whitelist for local playlists (file,crypto,data) ffmpeg refuses http itself; a service that
// adds http,tcp connects without confine, and under the policy socket() ends the job.
TEST_F(FfmpegWorkload, HlsSegmentOverHttpEndsTheJob) {
  LoopbackListener listener;
  write_text(job_path("net.m3u8"), "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:" +
                                       std::to_string(listener.port()) + "/seg0.ts\n#EXT-X-ENDLIST\n");
  const RunResult guarded = run_workload("ffmpeg.toml", ffmpeg({"-i", "net.m3u8", "-f", "null", "-"}));
  EXPECT_TRUE(Ended(guarded, "exit_nonzero", 1));

  const auto relaxed = ffmpeg({"-protocol_whitelist", "file,crypto,data,http,tcp", "-i", "net.m3u8", "-f", "null", "-"});
  const RunResult r = run_workload("ffmpeg.toml", relaxed);
  EXPECT_TRUE(KilledBySeccomp(r, "socket"));
  EXPECT_EQ(listener.connections(), 0);
  EXPECT_TRUE(Delivered(r, {}));

  copy_to_plain("net.m3u8");
  const ToolResult plain = run_unsandboxed(relaxed);
  for (int i = 0; i < 100 && listener.connections() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(listener.connections(), 1) << "the unsandboxed run should have connected\n" << plain.describe();
}

// A Matroska attachment's filename tag is where `-dump_attachment:t ""` writes it, absolute
// paths included: the input chooses an output path. Aimed outside the job dir, and at the job's
// own input (its working dir, read-only).
TEST_F(FfmpegWorkload, AttachmentFilenameCannotWriteOutsideTheOutputArea) {
  write_text(job_path("payload.txt"), "written by an attachment\n");
  copy_to_plain("payload.txt");
  for (const std::string& target : {outside_, std::string("payload.txt")}) {
    SCOPED_TRACE(target);
    const std::string mkv = target == outside_ ? "evil-outside.mkv" : "evil-input.mkv";
    const RunResult made = run_workload(
        "ffmpeg.toml", ffmpeg({"-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=1", "-attach", "payload.txt",
                               "-metadata:s:t", "mimetype=text/plain", "-metadata:s:t", "filename=" + target, "-c:v",
                               "libvpx", "/out/" + mkv}));
    ASSERT_TRUE(Ended(made, "ok", 0));
    take_delivered(mkv);
    const auto dump = ffmpeg({"-dump_attachment:t", "", "-i", mkv, "-f", "null", "-"});

    const RunResult r = run_workload("ffmpeg.toml", dump);
    EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
    EXPECT_TRUE(Delivered(r, {}));
    EXPECT_TRUE(NothingWrittenOutside());
  }

  // Unsandboxed, the attachment lands where it names.
  copy_to_plain("evil-outside.mkv");
  const ToolResult plain = run_unsandboxed(ffmpeg({"-dump_attachment:t", "", "-i", "evil-outside.mkv", "-f", "null", "-"}));
  EXPECT_EQ(plain.exit_code, 0) << plain.describe();
  EXPECT_EQ(read_text(outside_), "written by an attachment\n") << "the unsandboxed run should have written outside";
  ::unlink(outside_.c_str());
  EXPECT_TRUE(NothingWrittenOutside());
}

// A source without an end (lavfi testsrc and sine without a duration, as a looping playlist or
// an hour-long upload would be): the wall-time limit ends it. Not run unsandboxed: it would not
// stop.
TEST_F(FfmpegWorkload, EndlessInputEndsAtTheWallTimeLimit) {
  const RunResult r = run_workload(
      "ffmpeg.toml", ffmpeg({"-f", "lavfi", "-i", "testsrc=size=640x480:rate=25", "-f", "lavfi", "-i", "sine", "-f", "null", "-"}),
      with_args({"--timeout", "3s"}));
  EXPECT_TRUE(EndedByLimit(r, "wall_timeout", 124, "wall_time"));
  EXPECT_TRUE(NothingWrittenOutside());
}

// Every frame of a clip as its own PNG, 100 of them, where the output area takes 32 files (10000
// by default): ffmpeg fails to open the files past the cap, and only what fit is delivered.
TEST_F(FfmpegWorkload, FramesPastTheOutputAreasFileCapAreNotDelivered) {
  const auto frames = [](const std::string& out) {
    return ffmpeg({"-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=4", out + "/f-%03d.png"});
  };
  const RunResult r = run_workload(policy_with_output_files("ffmpeg.toml", 32), frames(kOutArea));
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  EXPECT_NE(r.err.find("Could not open file : /out/f-033.png"), std::string::npos) << r.describe();
  std::set<std::string> delivered;
  for (int i = 1; i <= 32; ++i) delivered.insert((i < 10 ? "f-00" : "f-0") + std::to_string(i) + ".png");
  EXPECT_TRUE(Delivered(r, delivered));
  EXPECT_TRUE(NothingWrittenOutside());

  // Unsandboxed, every frame is written.
  const ToolResult plain = run_unsandboxed(frames(plain_out_));
  ASSERT_EQ(plain.exit_code, 0) << plain.describe();
  EXPECT_TRUE(std::filesystem::exists(plain_out_path("f-100.png")));
}

}  // namespace
}  // namespace integ
