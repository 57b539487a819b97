// Inputs that are not policies at all: bytes that are not UTF-8, NUL bytes, oversized files,
// unreadable paths, extends chains past the depth limit, and a few hundred random and mutated
// byte strings, none of which may crash the loader.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "confine/policy.h"

namespace confine::policy {
namespace {

namespace fs = std::filesystem;

// A private directory for one test, removed with everything in it afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "confine-policy-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  [[nodiscard]] std::string write(const std::string& name, const std::string& bytes) const {
    const fs::path file = path_ / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file.string();
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string all(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.str() + "\n";
  return out;
}

TEST(Robustness, InvalidUtf8IsLocatedAtTheFirstBadByte) {
  TempDir dir;
  // Line 3, after "x = \"é" (é is one character): column 7. A second bad byte is not repeated.
  const std::string path = dir.write("bad.toml", "version = 1\n\nx = \"\xc3\xa9\xff\xfe\"\n");
  const LoadResult r = load(path);
  ASSERT_EQ(r.diagnostics.size(), 1U) << all(r);
  EXPECT_EQ(r.diagnostics[0].origin.str(), path + ":3:7");
  EXPECT_EQ(r.diagnostics[0].key, "");
  EXPECT_NE(r.diagnostics[0].message.find("invalid UTF-8 (byte 0xFF)"), std::string::npos);
  EXPECT_FALSE(r.policy.has_value());
}

TEST(Robustness, OverlongAndSurrogateEncodingsAreNotUtf8) {
  TempDir dir;
  for (const std::string bad : {"a = \"\xc0\xaf\"", "a = \"\xed\xa0\x80\"", "a = \"\xf4\x90\x80\x80\"", "a = \"\xe2\x82\""}) {
    const LoadResult r = load(dir.write("bad.toml", bad));
    ASSERT_EQ(r.diagnostics.size(), 1U) << all(r);
    EXPECT_EQ(r.diagnostics[0].origin.line, 1U);
    EXPECT_EQ(r.diagnostics[0].origin.column, 6U);
  }
}

TEST(Robustness, NulByteIsLocated) {
  TempDir dir;
  const std::string path = dir.write("nul.toml", std::string("[limits]\npids = 1\0 0\n", 20));
  const LoadResult r = load(path);
  ASSERT_EQ(r.diagnostics.size(), 1U) << all(r);
  EXPECT_EQ(r.diagnostics[0].origin.str(), path + ":2:9");
  EXPECT_NE(r.diagnostics[0].message.find("NUL byte"), std::string::npos);
}

TEST(Robustness, OversizedFileIsRefusedWithSizeAndCap) {
  TempDir dir;
  const std::string path = dir.write("big.toml", "# " + std::string(200, 'x') + "\n");
  LoadOptions options;
  options.max_file_bytes = 100;
  const LoadResult r = load(path, options);
  ASSERT_EQ(r.diagnostics.size(), 1U) << all(r);
  EXPECT_EQ(r.diagnostics[0].origin.str(), path);
  EXPECT_NE(r.diagnostics[0].message.find("203 bytes"), std::string::npos) << r.diagnostics[0].message;
  EXPECT_NE(r.diagnostics[0].message.find("100-byte limit"), std::string::npos) << r.diagnostics[0].message;
  options.max_file_bytes = 203;  // exactly at the cap is fine
  EXPECT_TRUE(load(path, options).ok());
}

TEST(Robustness, MissingAndUnreadableFilesReportStrerror) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope.toml").string();
  LoadResult r = load(missing);
  ASSERT_EQ(r.diagnostics.size(), 1U);
  EXPECT_EQ(r.diagnostics[0].str(), missing + ": cannot read policy: No such file or directory");

  r = load(dir.path().string());
  ASSERT_EQ(r.diagnostics.size(), 1U);
  EXPECT_NE(r.diagnostics[0].message.find("Is a directory"), std::string::npos);

  if (::geteuid() != 0) {  // root reads anything
    const std::string locked = dir.write("locked.toml", "version = 1\n");
    ASSERT_EQ(::chmod(locked.c_str(), 0), 0);
    r = load(locked);
    ASSERT_EQ(r.diagnostics.size(), 1U);
    EXPECT_NE(r.diagnostics[0].message.find("Permission denied"), std::string::npos);
  }
}

// A FIFO nobody writes to, named by `extends` or given directly, is refused at once. Opening
// one for reading used to block until a writer came, hanging `confine check` and `confine run`.
// Each load runs in a child with an alarm, so a regression fails here instead of hanging.
TEST(Robustness, FifoWithoutAWriterIsRefusedNotWaitedOn) {
  TempDir dir;
  const std::string fifo = (dir.path() / "fifo.toml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string parent = dir.write("parent.toml", "version = 1\nextends = [\"fifo.toml\"]\n");
  for (const std::string& path : {parent, fifo}) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::alarm(10);
      const LoadResult r = load(path);
      const std::string text = all(r);
      (void)!::write(out[1], text.data(), text.size());
      ::_exit(r.ok() ? 1 : 0);
    }
    ::close(out[1]);
    std::string said;
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) said.append(buf, static_cast<size_t>(n));
    ::close(out[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << path << ": the load hung and was killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0) << path << " loaded: " << said;
    EXPECT_NE(said.find(fifo), std::string::npos) << said;
    EXPECT_NE(said.find("the pipe gave nothing"), std::string::npos) << said;
  }
}

// A pipe whose writer is still producing the policy (`confine run -p <(generate)`) is waited
// for: the open is non-blocking, the reads are not.
TEST(Robustness, PolicyFromAPipeWaitsForItsWriter) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::thread writer([fd = p[1]] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string text = "version = 1\n[env]\nkeep = [\"FROM_PIPE\"]\n";
    (void)!::write(fd, text.data(), text.size());
    ::close(fd);
  });
  const LoadResult r = load("/proc/self/fd/" + std::to_string(p[0]));
  writer.join();
  ::close(p[0]);
  ASSERT_TRUE(r.ok()) << all(r);
  ASSERT_EQ(r.policy->env.keep.size(), 1U);
  EXPECT_EQ(r.policy->env.keep.front().value, "FROM_PIPE");
}

// Devices are not policies: /dev/zero never ends, and a terminal would wait for typing.
TEST(Robustness, DevicesAreRefused) {
  const LoadResult r = load("/dev/zero");
  ASSERT_EQ(r.diagnostics.size(), 1U) << all(r);
  EXPECT_EQ(r.diagnostics[0].origin.str(), "/dev/zero");
  EXPECT_NE(r.diagnostics[0].message.find("not a regular file or a pipe"), std::string::npos) << all(r);
}

TEST(Robustness, ExtendsDepthLimit) {
  TempDir dir;
  // f0 extends f1 extends ... f5; f5 extends nothing.
  for (int i = 0; i < 5; ++i) {
    (void)dir.write("f" + std::to_string(i) + ".toml",
                    "extends = [\"f" + std::to_string(i + 1) + ".toml\"]\n[env]\nkeep = [\"F" + std::to_string(i) + "\"]\n");
  }
  (void)dir.write("f5.toml", "[env]\nkeep = [\"F5\"]\n");
  const std::string root = (dir.path() / "f0.toml").string();

  LoadOptions options;
  options.max_extends_depth = 5;  // f5 is 5 deep: allowed
  LoadResult r = load(root, options);
  ASSERT_TRUE(r.ok()) << all(r);
  EXPECT_EQ(r.policy->files.size(), 6U);
  EXPECT_EQ(r.policy->env.keep.front().value, "F5");

  options.max_extends_depth = 4;
  r = load(root, options);
  ASSERT_EQ(r.diagnostics.size(), 1U) << all(r);
  EXPECT_EQ(r.diagnostics[0].origin.str(), (dir.path() / "f4.toml").string() + ":1:12");
  EXPECT_EQ(r.diagnostics[0].key, "extends[0]");
  EXPECT_NE(r.diagnostics[0].message.find("deeper than 4"), std::string::npos);
}

TEST(Robustness, SymlinkToTheSameFileIsACycle) {
  TempDir dir;
  (void)dir.write("a.toml", "extends = [\"link.toml\"]\n");
  fs::create_symlink(dir.path() / "a.toml", dir.path() / "link.toml");
  const LoadResult r = load((dir.path() / "a.toml").string());
  ASSERT_EQ(r.diagnostics.size(), 1U) << all(r);
  EXPECT_NE(r.diagnostics[0].message.find("extends cycle"), std::string::npos);
}

// Nothing may crash: random bytes, and mutations of the shipped default policy (which reach far
// deeper into the validators than noise does). Deterministic, so a failure reproduces.
TEST(Robustness, RandomAndMutatedInputsNeverCrash) {
  TempDir dir;
  std::ifstream in(fs::path(CONFINE_SOURCE_DIR) / "policies" / "default.toml", std::ios::binary);
  const std::string seed_text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(seed_text.empty());
  const std::string alphabet = "[]{}=\"',.#\n -_0123456789aeiorstunlmxyzABCDEFGKMT@/*?\\";
  std::mt19937 rng(20240611);
  size_t ok_count = 0;
  for (int round = 0; round < 400; ++round) {
    std::string bytes;
    if (round % 4 == 0) {
      const size_t n = rng() % 300;
      for (size_t i = 0; i < n; ++i) bytes += static_cast<char>(rng() % 256);
    } else {
      bytes = seed_text;
      const int edits = 1 + static_cast<int>(rng() % 8);
      for (int e = 0; e < edits && !bytes.empty(); ++e) {
        const size_t at = rng() % bytes.size();
        switch (rng() % 4) {
          case 0: bytes[at] = alphabet[rng() % alphabet.size()]; break;
          case 1: bytes.erase(at, 1 + rng() % 20); break;
          case 2: bytes.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
          default: bytes.insert(at, bytes.substr(rng() % bytes.size(), rng() % 40)); break;
        }
      }
    }
    const std::string path = dir.write("fuzz.toml", bytes);
    LoadResult r = load(path);
    // The one invariant: a policy comes back exactly when there are no diagnostics.
    ASSERT_EQ(r.policy.has_value(), r.diagnostics.empty()) << "round " << round;
    if (r.ok()) {
      ++ok_count;
      EXPECT_FALSE(explain_text(*r.policy).empty());
      EXPECT_EQ(content_hash(*r.policy).size(), 64U);
    }
    for (const auto& d : r.diagnostics) EXPECT_FALSE(d.message.empty()) << "round " << round;
  }
  EXPECT_GT(ok_count, 0U) << "no mutation survived; the mutator is too aggressive to reach the validators";
}

// What `confine check` says about a file with more path rules than the sandbox has mount steps
// for: located at the first rule past the limit, as every other problem is.
TEST(PolicyRobustness, TooManyPathRulesAreLocatedAtTheFirstOnePast) {
  TempDir dir;
  std::string text = "version = 1\n[filesystem]\nro = [\n";
  for (size_t i = 0; i < kMaxPathRules + 5; ++i) text += "  \"/data/d" + std::to_string(i) + "\",\n";
  text += "]\n";
  const std::string path = dir.write("many.toml", text);
  const LoadResult result = load(path);
  ASSERT_EQ(result.diagnostics.size(), 1U);
  const std::string expected = path + ":" + std::to_string(4 + kMaxPathRules) + ":3: filesystem.ro[" +
                               std::to_string(kMaxPathRules) + "]: " + std::to_string(kMaxPathRules + 5) +
                               " path rules (ro, rw, deny and tmpfs together); at most " +
                               std::to_string(kMaxPathRules) +
                               " fit in the sandbox's mount table: bind a common parent directory instead of many "
                               "paths under it";
  EXPECT_EQ(result.diagnostics[0].str(), expected);
}

}  // namespace
}  // namespace confine::policy
