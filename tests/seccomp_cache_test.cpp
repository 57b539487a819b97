// The compiled-filter cache: it hands back exactly what compile() built, for exactly the same
// inputs, and it refuses every file or directory someone other than root could have written.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
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

// The batch's memo by policy section (FilterCache::section_key): the key changes with every
// field resolve() reads and every option, names cannot run together, and only a cache that
// remembers has one.
TEST(FilterCacheSections, KeyNamesEveryFieldAndRecallGivesWhatWasNoted) {
  const FilterCache cache = FilterCache::in_memory();
  policy::Policy::Seccomp base;
  base.default_action.value = SeccompAction::kErrno;
  base.errno_value.value = 38;
  policy::SeccompRule rule;
  rule.action = SeccompAction::kAllow;
  rule.syscalls = {"@default", "ab", "c"};
  base.rules.push_back(rule);
  const CompileOptions options;
  const std::string k = cache.section_key(base, options, "ctx");
  ASSERT_FALSE(k.empty());
  EXPECT_EQ(k, cache.section_key(base, options, "ctx"));
  std::vector<std::pair<std::string, policy::Policy::Seccomp>> variants;
  auto vary = [&](const char* what, auto change) {
    policy::Policy::Seccomp v = base;
    change(v);
    variants.emplace_back(what, v);
  };
  vary("default action", [](auto& v) { v.default_action.value = SeccompAction::kKill; });
  vary("default errno", [](auto& v) { v.errno_value.value = 1; });
  vary("log", [](auto& v) { v.log.value = true; });
  vary("rule action", [](auto& v) { v.rules[0].action = SeccompAction::kKill; });
  vary("rule errno", [](auto& v) { v.rules[0].errno_value = 1; });
  vary("rule log", [](auto& v) { v.rules[0].log = true; });
  vary("names run together", [](auto& v) { v.rules[0].syscalls = {"@default", "a", "bc"}; });
  vary("a name fewer", [](auto& v) { v.rules[0].syscalls.pop_back(); });
  vary("another rule", [](auto& v) { v.rules.push_back(v.rules[0]); });
  for (const auto& [what, v] : variants) EXPECT_NE(cache.section_key(v, options, "ctx"), k) << what;
  CompileOptions notify;
  notify.notify = Notify::kNamed;
  EXPECT_NE(cache.section_key(base, notify, "ctx"), k) << "options";
  EXPECT_NE(cache.section_key(base, options, "ctx2"), k) << "context";

  EXPECT_FALSE(cache.recall(k).has_value());
  Program program;
  program.instructions = {{0x06, 0, 0, 0x7fff0000}};
  program.summary = {"noted"};
  cache.note(k, program);
  auto recalled = cache.recall(k);
  ASSERT_TRUE(recalled.has_value());
  EXPECT_EQ(recalled->summary, program.summary);
  EXPECT_FALSE(cache.recall(cache.section_key(variants[0].second, options, "ctx")).has_value());
  EXPECT_FALSE(cache.recall("").has_value());
}

// `confine run` is one job per process: a section's program noted by one run is on disk for
// the next (a cache opened afresh on the same directory), under a key apart from key()'s, and
// checked as every cached file is. Nothing is noted or found under an empty section key.
TEST_F(FilterCacheTest, ASectionNotedOnDiskIsRecalledByTheNextProcess) {
  auto first = FilterCache::open(dir_);
  ASSERT_TRUE(first.has_value());
  policy::Policy::Seccomp section;
  section.rules.push_back(policy::SeccompRule{});
  section.rules.back().syscalls = {"ptrace"};
  const std::string k = first->section_key(section, {}, "kernel k");
  ASSERT_NE(k, "");
  EXPECT_FALSE(first->recall(k).has_value());
  auto program = compile(rules(SeccompAction::kKill), {});
  ASSERT_TRUE(program.has_value());
  first->note(k, *program);
  const std::string path = file_for(FilterCache::section_file_key(k));
  ASSERT_TRUE(std::filesystem::exists(path));
  // One file, under the section's key: noting stores nothing under key()'s key for the rules.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) files += entry.path().extension() == ".bpf" ? 1 : 0;
  EXPECT_EQ(files, 1U);

  auto next = FilterCache::open(dir_);
  ASSERT_TRUE(next.has_value());
  auto recalled = next->recall(k);
  ASSERT_TRUE(recalled.has_value());
  EXPECT_TRUE(same(*recalled, *program));
  EXPECT_FALSE(next->recall(next->section_key(section, {}, "kernel other")).has_value());
  EXPECT_FALSE(next->recall("").has_value());

  // The file is checked as key()'s files are: one not root's, or edited, is a miss.
  ASSERT_EQ(::chown(path.c_str(), kNobody, 0), 0);
  EXPECT_FALSE(next->recall(k).has_value());
  ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
  {
    std::fstream io(path, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(-3, std::ios::end);
    io.put('#');
  }
  EXPECT_FALSE(next->recall(k).has_value());
}

// The directory is bounded (FilterCache::kMaxFiles): a store past the bound removes the oldest
// files by mtime down to three quarters of it, and temporary files older than ten minutes;
// anything not named as the cache names its files stays.
TEST_F(FilterCacheTest, AStorePastTheBoundRemovesTheOldestFiles) {
  auto cache = FilterCache::open(dir_);
  ASSERT_TRUE(cache.has_value());
  auto program = compile(rules(SeccompAction::kKill), {});
  ASSERT_TRUE(program.has_value());
  auto key_of = [](size_t i) {
    std::string hex = std::to_string(i);
    return std::string(64 - hex.size(), '0') + hex;  // digits are hex digits too
  };
  const time_t now = ::time(nullptr);
  auto set_mtime = [](const std::string& path, time_t when) {
    const timespec times[2] = {{when, 0}, {when, 0}};
    return ::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0;
  };
  constexpr size_t kMax = FilterCache::kMaxFiles;
  for (size_t i = 0; i < kMax; ++i) {
    cache->store(key_of(i), *program);
    ASSERT_TRUE(set_mtime(file_for(key_of(i)), now - 100000 + static_cast<time_t>(i))) << i;
  }
  const std::string stale_temp = dir_ + "/." + key_of(1) + ".4242.tmp";
  const std::string fresh_temp = dir_ + "/." + key_of(2) + ".4243.tmp";
  for (const std::string& other : {stale_temp, fresh_temp, dir_ + "/README", dir_ + "/notes.bpf"}) {
    std::ofstream(other) << "x";
  }
  ASSERT_TRUE(set_mtime(stale_temp, now - 3600));
  for (size_t i = 0; i < kMax; ++i) ASSERT_TRUE(std::filesystem::exists(file_for(key_of(i)))) << "at the bound: " << i;

  cache->store(key_of(kMax), *program);  // one past the bound
  const size_t keep = kMax * 3 / 4;
  size_t left = 0;
  for (size_t i = 0; i <= kMax; ++i) {
    const bool there = std::filesystem::exists(file_for(key_of(i)));
    left += there ? 1 : 0;
    EXPECT_EQ(there, i + keep > kMax) << "file " << i << " (older files have smaller numbers)";
  }
  EXPECT_EQ(left, keep);
  EXPECT_FALSE(std::filesystem::exists(stale_temp));
  EXPECT_TRUE(std::filesystem::exists(fresh_temp));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/README"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/notes.bpf"));
  EXPECT_TRUE(cache->load(key_of(kMax)).has_value());
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
