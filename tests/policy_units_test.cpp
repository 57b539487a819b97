// parse_size, parse_duration and the value checks they share with the command line, as tables.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "confine/policy.h"
#include "policy/values.h"

namespace confine::policy {
namespace {

struct SizeCase {
  const char* text;
  std::optional<uint64_t> bytes;  // nullopt: must be rejected
};

TEST(ParseSize, Table) {
  constexpr uint64_t K = 1024;
  const SizeCase cases[] = {
      {"512", 512},
      {"0", 0},
      {"512B", 512},
      {"512K", 512 * K},
      {"512k", 512 * K},
      {"512KB", 512 * K},
      {"512KiB", 512 * K},
      {"512kib", 512 * K},
      {"512M", 512 * K * K},
      {"512MiB", 512 * K * K},
      {"2G", 2 * K * K * K},
      {"1T", K * K * K * K},
      {"1.5G", 3 * K * K * K / 2},
      {"0.5K", 512},
      {"1.0001K", 1024},  // fractions of a byte are dropped
      {"8388608T", uint64_t{1} << 63},
      {"9223372036854775808", uint64_t{1} << 63},
      {"9223372036854775809", std::nullopt},
      {"8388608.001T", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"", std::nullopt},
      {"M", std::nullopt},
      {"-1", std::nullopt},
      {"-1M", std::nullopt},
      {"1X", std::nullopt},
      {"1iB", std::nullopt},
      {"1MX", std::nullopt},
      {"1 M", std::nullopt},
      {" 1M", std::nullopt},
      {"1.", std::nullopt},
      {".5M", std::nullopt},
      {"1.5", std::nullopt},
      {"1e3", std::nullopt},
      {"0x10", std::nullopt},
      {"unlimited", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = parse_size(c.text);
    if (c.bytes) {
      ASSERT_TRUE(got.has_value()) << c.text << ": " << got.error().message;
      EXPECT_EQ(*got, *c.bytes) << c.text;
    } else {
      EXPECT_FALSE(got.has_value()) << c.text << " parsed as " << *got;
      if (!got) {
        EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
      }
    }
  }
}

struct DurationCase {
  const char* text;
  std::optional<int64_t> ms;
};

TEST(ParseDuration, Table) {
  const DurationCase cases[] = {
      {"500ms", 500},
      {"2s", 2000},
      {"0s", 0},
      {"0ms", 0},
      {"1m", 60'000},
      {"1m30s", 90'000},
      {"1h", 3'600'000},
      {"1h2m3s4ms", 3'723'004},
      {"30s1m", 90'000},  // summed, in any order
      {"9223372036854775807ms", INT64_MAX},
      {"9223372036854775808ms", std::nullopt},
      {"9223372036854775807s", std::nullopt},
      {"2562047788015h", int64_t{2562047788015} * 3'600'000},
      {"2562047788016h", std::nullopt},
      {"30", std::nullopt},  // no bare numbers
      {"0", std::nullopt},
      {"", std::nullopt},
      {"-1s", std::nullopt},
      {"1.5s", std::nullopt},
      {"1d", std::nullopt},
      {"1S", std::nullopt},
      {"1sec", std::nullopt},
      {"s", std::nullopt},
      {"1s1s", std::nullopt},
      {"1 s", std::nullopt},
      {"1s ", std::nullopt},
      {"unlimited", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = parse_duration(c.text);
    if (c.ms) {
      ASSERT_TRUE(got.has_value()) << c.text << ": " << got.error().message;
      EXPECT_EQ(got->count(), *c.ms) << c.text;
    } else {
      EXPECT_FALSE(got.has_value()) << c.text << " parsed as " << got->count() << "ms";
    }
  }
}

TEST(FormatUnits, RoundTripsThroughTheParsers) {
  for (const char* text : {"512M", "1G", "3K", "1000", "1T", "0"}) {
    auto bytes = parse_size(text);
    ASSERT_TRUE(bytes.has_value()) << text;
    EXPECT_EQ(detail::format_size(*bytes), text);
  }
  for (const char* text : {"1h30m", "500ms", "2s", "1m1s1ms", "0s"}) {
    auto ms = parse_duration(text);
    ASSERT_TRUE(ms.has_value()) << text;
    EXPECT_EQ(detail::format_duration(*ms), text);
  }
}

TEST(NormalizePath, Table) {
  const std::pair<const char*, const char*> good[] = {
      {"/", "/"},           {"//", "/"},           {"/usr/", "/usr"},         {"/usr//lib", "/usr/lib"},
      {"/./usr/.", "/usr"}, {"/a/./b//c/", "/a/b/c"}, {"/..data", "/..data"}, {"/a b", "/a b"},
  };
  for (const auto& [in, out] : good) {
    auto got = detail::normalize_path(in);
    ASSERT_TRUE(got.has_value()) << in << ": " << got.error().message;
    EXPECT_EQ(*got, out);
  }
  for (const char* bad : {"", "usr", "./usr", "/usr/..", "/../x", "/a/../b", "~/x"}) {
    EXPECT_FALSE(detail::normalize_path(bad).has_value()) << bad;
  }
  EXPECT_FALSE(detail::normalize_path(std::string_view("/a\0b", 4)).has_value());
}

TEST(Hostname, Table) {
  const std::string longest(64, 'x');
  const std::string too_long(65, 'x');
  for (const char* ok : {"a", "sandbox", "build-1.example", "A9", longest.c_str()}) {
    EXPECT_TRUE(detail::check_hostname(ok).has_value()) << ok;
  }
  for (const char* bad : {"", "-a", ".a", "a_b", "a b", "caf\xc3\xa9", too_long.c_str()}) {
    EXPECT_FALSE(detail::check_hostname(bad).has_value()) << bad;
  }
}

TEST(EnvNames, NamesAndGlobs) {
  for (const char* ok : {"PATH", "_x", "a1", "LC_ALL"}) EXPECT_TRUE(detail::check_env_name(ok).has_value()) << ok;
  for (const char* bad : {"", "1A", "A-B", "A*", "A=B", "A B"}) {
    EXPECT_FALSE(detail::check_env_name(bad).has_value()) << bad;
  }
  for (const char* ok : {"LC_*", "*", "X?", "PATH", "1*"}) EXPECT_TRUE(detail::check_env_glob(ok).has_value()) << ok;
  for (const char* bad : {"", "LC-*", "[A]", "A B", "A="}) EXPECT_FALSE(detail::check_env_glob(bad).has_value()) << bad;
}

TEST(ErrnoNames, NamesAliasesAndRange) {
  EXPECT_EQ(detail::parse_errno_name("EPERM").value_or(0), EPERM);
  EXPECT_EQ(detail::parse_errno_name("EACCES").value_or(0), EACCES);
  EXPECT_EQ(detail::parse_errno_name("ENOSYS").value_or(0), ENOSYS);
  EXPECT_EQ(detail::parse_errno_name("ENOTSUP").value_or(0), ENOTSUP);
  EXPECT_EQ(detail::parse_errno_name("EOPNOTSUPP").value_or(0), EOPNOTSUPP);
  EXPECT_EQ(detail::parse_errno_name("EWOULDBLOCK").value_or(0), EAGAIN);
  EXPECT_FALSE(detail::parse_errno_name("eperm").has_value());
  auto typo = detail::parse_errno_name("EPREM");
  ASSERT_FALSE(typo.has_value());
  EXPECT_NE(typo.error().message.find("did you mean 'EPERM'?"), std::string::npos) << typo.error().message;
  EXPECT_FALSE(detail::check_errno_number(0).has_value());
  EXPECT_FALSE(detail::check_errno_number(4096).has_value());
  EXPECT_EQ(detail::check_errno_number(4095).value_or(0), 4095);
  EXPECT_EQ(detail::errno_name(EPERM), "EPERM");
}

TEST(Capabilities, CanonicalNames) {
  for (const char* in : {"net_bind_service", "CAP_NET_BIND_SERVICE", "cap_net_bind_service", "Net_Bind_Service"}) {
    auto got = detail::canonical_capability(in);
    ASSERT_TRUE(got.has_value()) << in << ": " << got.error().message;
    EXPECT_EQ(*got, "CAP_NET_BIND_SERVICE");
  }
  for (const char* bad : {"", "12", "cap_12", "net bind", "CAP_", "cap_net_bind_servic"}) {
    EXPECT_FALSE(detail::canonical_capability(bad).has_value()) << bad;
  }
}

TEST(Suggest, DistanceAndCase) {
  EXPECT_EQ(detail::edit_distance("memory", "mmeory"), 1U);  // a swap counts once
  EXPECT_EQ(detail::edit_distance("", "abc"), 3U);
  const std::string_view keys[] = {"memory", "pids", "cpus", "swap"};
  EXPECT_EQ(detail::closest("memroy", keys), "memory");
  EXPECT_EQ(detail::closest("PIDS", keys), "pids");
  EXPECT_EQ(detail::closest("MEMORY", keys), "memory");
  EXPECT_EQ(detail::closest("zzzzzz", keys), "");
}

TEST(Names, EnumsAndOrigins) {
  EXPECT_STREQ(to_string(Enforcement::kBestEffort), "best-effort");
  EXPECT_STREQ(to_string(NetworkMode::kHost), "host");
  EXPECT_STREQ(to_string(SeccompAction::kErrno), "errno");
  EXPECT_EQ((Origin{"p.toml", 3, 7}).str(), "p.toml:3:7");
  EXPECT_EQ((Origin{"<command line>", 0, 0}).str(), "<command line>");
  EXPECT_EQ(Origin{}.str(), "default");
  EXPECT_EQ((Diagnostic{{"p.toml", 3, 7}, "limits.memory", "bad"}).str(), "p.toml:3:7: limits.memory: bad");
  EXPECT_EQ((Diagnostic{{"p.toml", 1, 1}, "", "bad"}).str(), "p.toml:1:1: bad");
  // Control characters quoted from a hostile policy cannot start a new line or drive a terminal.
  EXPECT_EQ((Diagnostic{{"p.toml", 1, 1}, "env.set.A\nB", "x\x1b[2J"}).str(), "p.toml:1:1: env.set.A\\x0aB: x\\x1b[2J");
}

}  // namespace
}  // namespace confine::policy
