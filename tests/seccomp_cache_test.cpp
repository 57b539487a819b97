// The compiled-filter cache: it hands back exactly what compile() built, for exactly the same
// inputs, and it refuses every file or directory someone other than root could have written.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "confine/seccomp.h"

namespace confine::seccomp {
namespace {

using policy::SeccompAction;

constexpr uid_t kNobody = 65534;

Resolved rules(SeccompAction kill_or_errno) {
  Resolved r;
  r.default_action = {SeccompAction::kAllow, 0};
  r.syscalls["ptrace"] = {kill_or_errno, kill_or_errno == SeccompAction::kErrno ? 1 : 0};
  r.syscalls["bpf"] = {SeccompAction::kKill, 0};
  return r;
}

bool same(const Program& a, const Program& b) {
  return a.notify == b.notify && a.summary == b.summary && a.instructions.size() == b.instructions.size() &&
         std::memcmp(a.instructions.data(), b.instructions.data(), a.instructions.size() * sizeof(sock_filter)) == 0;
}

class FilterCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      const char* all = std::getenv("CONFINE_REQUIRE_ALL");
      if (all != nullptr && std::string(all) == "1") FAIL() << "needs root (CONFINE_REQUIRE_ALL=1)";
      GTEST_SKIP() << "the filter cache is for root only; run as root";
    }
    std::string pattern = "/tmp/confine-cache-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    ASSERT_EQ(::chmod(base_.c_str(), 0755), 0);
    dir_ = base_ + "/cache";
  }
  void TearDown() override {
    if (!base_.empty()) std::filesystem::remove_all(base_);
  }
  std::string file_for(const std::string& key) const { return dir_ + "/" + key + ".bpf"; }
  // Opens the cache and compiles the kill rules into it (kernel release "k"): stored_ and the
  // file's key, stored_key_.
  void store_kill_rules() {
    stored_ = FilterCache::open(dir_);
    ASSERT_TRUE(stored_.has_value());
    const Resolved r = rules(SeccompAction::kKill);
    stored_key_ = FilterCache::key(r, {}, "k");
    ASSERT_TRUE(stored_->compile(r, {}, "k").has_value());
  }
  std::optional<FilterCache> stored_;
  std::string stored_key_;

  std::string base_;
  std::string dir_;
};

TEST_F(FilterCacheTest, ReturnsWhatCompileBuiltAndStoresIt) {
  auto cache = FilterCache::open(dir_);
  ASSERT_TRUE(cache.has_value());
  struct stat st {};
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700U) << "the cache directory is created private to root";

  const Resolved r = rules(SeccompAction::kKill);
  CompileOptions options;
  options.notify = Notify::kNamed;
  auto direct = compile(r, options);
  ASSERT_TRUE(direct.has_value());
  auto first = cache->compile(r, options, "6.1.0-test");
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(same(*direct, *first));
  const std::string key = FilterCache::key(r, options, "6.1.0-test");
  ASSERT_TRUE(std::filesystem::exists(file_for(key)));
  auto loaded = cache->load(key);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(same(*direct, *loaded));
  EXPECT_TRUE(loaded->notify);
}

TEST_F(FilterCacheTest, KeyCoversRulesOptionsAndKernel) {
  const Resolved kill = rules(SeccompAction::kKill);
  const Resolved err = rules(SeccompAction::kErrno);
  CompileOptions plain, notify;
  notify.notify = Notify::kNamed;
  const std::string k = FilterCache::key(kill, plain, "6.1");
  EXPECT_EQ(k, FilterCache::key(kill, plain, "6.1"));
  EXPECT_NE(k, FilterCache::key(err, plain, "6.1"));
  EXPECT_NE(k, FilterCache::key(kill, notify, "6.1"));
  EXPECT_NE(k, FilterCache::key(kill, plain, "6.2"));
  Resolved other_default = kill;
  other_default.default_action = {SeccompAction::kErrno, 1};
  EXPECT_NE(k, FilterCache::key(other_default, plain, "6.1"));
}

TEST_F(FilterCacheTest, RefusesFilesOthersCouldHaveWritten) {
  ASSERT_NO_FATAL_FAILURE(store_kill_rules());
  auto& cache = stored_;
  const std::string& key = stored_key_;
  const std::string path = file_for(key);
  ASSERT_TRUE(cache->load(key).has_value());

  ASSERT_EQ(::chmod(path.c_str(), 0620), 0);  // group-writable
  EXPECT_FALSE(cache->load(key).has_value());
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ASSERT_EQ(::chown(path.c_str(), kNobody, 0), 0);  // not root's
  EXPECT_FALSE(cache->load(key).has_value());
  ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
  ASSERT_TRUE(cache->load(key).has_value());

  // A symlink in the cache's place is never followed.
  const std::string elsewhere = base_ + "/elsewhere.bpf";
  std::filesystem::rename(path, elsewhere);
  std::filesystem::create_symlink(elsewhere, path);
  EXPECT_FALSE(cache->load(key).has_value());
}

TEST_F(FilterCacheTest, RefusesTamperedOrTruncatedContents) {
  ASSERT_NO_FATAL_FAILURE(store_kill_rules());
  auto& cache = stored_;
  const std::string& key = stored_key_;
  const std::string path = file_for(key);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto write = [&path](const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
  };
  // One flipped bit in the instructions (the last byte of the file is in the summary; the middle
  // is in the program).
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x01;
  write(flipped);
  EXPECT_FALSE(cache->load(key).has_value());
  write(bytes.substr(0, bytes.size() - 10));
  EXPECT_FALSE(cache->load(key).has_value());
  // A valid file for another key, copied under this key's name.
  const Resolved other = rules(SeccompAction::kErrno);
  const std::string other_key = FilterCache::key(other, {}, "k");
  ASSERT_TRUE(cache->compile(other, {}, "k").has_value());
  std::filesystem::copy_file(file_for(other_key), path, std::filesystem::copy_options::overwrite_existing);
  EXPECT_FALSE(cache->load(key).has_value());
  write(bytes);
  EXPECT_TRUE(cache->load(key).has_value());
}

TEST_F(FilterCacheTest, RefusesDirectoriesOthersCouldWrite) {
  ASSERT_TRUE(FilterCache::open(dir_).has_value());
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);  // not private
  EXPECT_FALSE(FilterCache::open(dir_).has_value());
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  ASSERT_EQ(::chown(dir_.c_str(), kNobody, 0), 0);  // not root's
  EXPECT_FALSE(FilterCache::open(dir_).has_value());
  ASSERT_EQ(::chown(dir_.c_str(), 0, 0), 0);
  // An ancestor others may write (and without the sticky bit) makes the whole path untrusted.
  ASSERT_EQ(::chmod(base_.c_str(), 0777), 0);
  EXPECT_FALSE(FilterCache::open(dir_).has_value());
  ASSERT_EQ(::chmod(base_.c_str(), 01777), 0);  // sticky, like /tmp: allowed on the way
  EXPECT_TRUE(FilterCache::open(dir_).has_value());
  ASSERT_EQ(::chmod(base_.c_str(), 0755), 0);
  // The cache directory through a symlink is refused.
  const std::string link = base_ + "/link";
  std::filesystem::create_symlink(dir_, link);
  EXPECT_FALSE(FilterCache::open(link).has_value());
  EXPECT_FALSE(FilterCache::open("relative/dir").has_value());
  EXPECT_FALSE(FilterCache::open(base_ + "/../cache").has_value());
}

}  // namespace
}  // namespace confine::seccomp
