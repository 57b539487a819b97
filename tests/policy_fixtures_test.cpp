// Fixture-driven tests: every bad fixture states its own expected diagnostics in comments,
//   # expect: [FILE:]LINE:COL: KEY: MESSAGE-SUBSTRING
// (FILE relative to the fixture's directory, default the fixture itself; "BAD/" in a message
// stands for that directory), and the loader must produce exactly that set. Good fixtures and
// the shipped policies must load clean.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "confine/policy.h"

namespace confine::policy {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(CONFINE_TEST_DIR) / "fixtures" / "policy";

struct Expectation {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string key;
  std::string message;
  std::string text;  // the comment as written, for failure messages
};

std::vector<std::string> fixture_names(const std::string& kind) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kFixtures / kind)) {
    if (entry.is_regular_file() && entry.path().extension() == ".toml") names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::vector<Expectation> read_expectations(const fs::path& fixture) {
  const std::string prefix = "# expect: ";
  const fs::path dir = fixture.parent_path();
  std::vector<Expectation> out;
  std::ifstream in(fixture);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const std::string body = line.substr(prefix.size());
    const size_t loc_end = body.find(": ");
    const size_t key_end = body.find(": ", loc_end + 2);
    if (loc_end == std::string::npos || key_end == std::string::npos) {
      ADD_FAILURE() << fixture << ": malformed expectation: " << line;
      continue;
    }
    const std::string loc = body.substr(0, loc_end);
    const size_t col_colon = loc.rfind(':');
    const size_t line_colon = loc.rfind(':', col_colon - 1);
    Expectation e;
    e.text = body;
    const std::string file = line_colon == std::string::npos ? "" : loc.substr(0, line_colon);
    e.file = (file.empty() ? fixture : (dir / file)).lexically_normal().string();
    e.line = static_cast<uint32_t>(std::stoul(loc.substr(line_colon + 1, col_colon - line_colon - 1)));
    e.column = static_cast<uint32_t>(std::stoul(loc.substr(col_colon + 1)));
    e.key = body.substr(loc_end + 2, key_end - loc_end - 2);
    e.message = replace_all(body.substr(key_end + 2), "BAD/", dir.string() + "/");
    out.push_back(e);
  }
  return out;
}

bool matches(const Expectation& e, const Diagnostic& d) {
  return fs::path(d.origin.file).lexically_normal().string() == e.file && d.origin.line == e.line &&
         d.origin.column == e.column && d.key == e.key && d.message.find(e.message) != std::string::npos;
}

class BadFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(BadFixture, ReportsExactlyTheExpectedDiagnostics) {
  const fs::path path = kFixtures / "bad" / GetParam();
  const auto expected = read_expectations(path);
  ASSERT_FALSE(expected.empty()) << path << " has no '# expect:' lines";

  const LoadResult result = load(path.string());
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.policy.has_value()) << "a policy with problems must not be returned";

  std::vector<bool> used(result.diagnostics.size(), false);
  for (const Expectation& e : expected) {
    bool found = false;
    for (size_t i = 0; i < result.diagnostics.size() && !found; ++i) {
      if (!used[i] && matches(e, result.diagnostics[i])) used[i] = found = true;
    }
    EXPECT_TRUE(found) << "expected but not reported: " << e.text;
  }
  for (size_t i = 0; i < result.diagnostics.size(); ++i) {
    EXPECT_TRUE(used[i]) << "reported but not expected: " << result.diagnostics[i].str();
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string>& param) {
  return fs::path(param.param).stem().string();
}

INSTANTIATE_TEST_SUITE_P(Policy, BadFixture, ::testing::ValuesIn(fixture_names("bad")), test_name);

TEST(PolicyFixtures, EnoughBadFixturesAreFound) {
  // Guards the glob: a wrong directory would otherwise instantiate zero cases and pass.
  EXPECT_GE(fixture_names("bad").size(), 15U);
  EXPECT_GE(fixture_names("good").size(), 2U);
}

TEST(PolicyFixtures, DiagnosticsAreSortedByFileLineColumn) {
  const LoadResult result = load((kFixtures / "bad" / "multiple_errors.toml").string());
  ASSERT_GE(result.diagnostics.size(), 2U);
  for (size_t i = 1; i < result.diagnostics.size(); ++i) {
    const auto& a = result.diagnostics[i - 1].origin;
    const auto& b = result.diagnostics[i].origin;
    EXPECT_LE(std::tie(a.file, a.line, a.column), std::tie(b.file, b.line, b.column));
  }
}

class GoodFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(GoodFixture, LoadsClean) {
  const fs::path path = kFixtures / "good" / GetParam();
  const LoadResult result = load(path.string());
  for (const auto& d : result.diagnostics) ADD_FAILURE() << d.str();
  EXPECT_TRUE(result.ok());
}

INSTANTIATE_TEST_SUITE_P(Policy, GoodFixture, ::testing::ValuesIn(fixture_names("good")), test_name);

TEST(ShippedPolicies, EveryPolicyLoadsClean) {
  std::vector<fs::path> policies;
  for (const auto& entry : fs::directory_iterator(fs::path(CONFINE_SOURCE_DIR) / "policies")) {
    if (entry.path().extension() == ".toml") policies.push_back(entry.path());
  }
  ASSERT_FALSE(policies.empty()) << "no policies/*.toml found";
  for (const auto& path : policies) {
    const LoadResult result = load(path.string());
    for (const auto& d : result.diagnostics) ADD_FAILURE() << d.str();
    EXPECT_TRUE(result.ok()) << path;
  }
}

}  // namespace
}  // namespace confine::policy
