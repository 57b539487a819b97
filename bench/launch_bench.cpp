// Launch-overhead benchmark: runs several commands side by side (interleaved, so machine noise
// hits them alike) and prints median and p90 wall time per launch, plus launches per second one
// at a time and two at a time. A benchmark, not a test: it prints figures and asserts nothing.
//
//   launch_bench [--runs N] -- NAME CMD ARGS... [--- NAME CMD ARGS...]...
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

struct Variant {
  std::string name;
  std::vector<std::string> argv;
  std::vector<double> samples_ms;
};

pid_t spawn(const Variant& v) {
  std::vector<char*> argv;
  for (const auto& a : v.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

bool wait_ok(pid_t pid) {
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200;
  std::vector<Variant> variants;
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::atoi(argv[++i]);
  }
  for (++i; i < argc; ++i) {
    if (variants.empty() || std::strcmp(argv[i], "---") == 0) {
      if (std::strcmp(argv[i], "---") == 0) ++i;
      if (i >= argc) break;
      variants.push_back(Variant{argv[i], {}, {}});
      continue;
    }
    variants.back().argv.emplace_back(argv[i]);
  }
  if (variants.empty() || runs < 2) {
    std::fprintf(stderr, "usage: launch_bench [--runs N] -- NAME CMD ARGS... [--- NAME CMD ARGS...]...\n");
    return 2;
  }
  for (auto& v : variants) {  // warm-up, and a check that each command works at all
    if (!wait_ok(spawn(v))) {
      std::fprintf(stderr, "%s: the command failed; fix it before benchmarking\n", v.name.c_str());
      return 1;
    }
  }
  for (int r = 0; r < runs; ++r) {
    for (auto& v : variants) {
      auto t = Clock::now();
      if (!wait_ok(spawn(v))) {
        std::fprintf(stderr, "%s: run %d failed\n", v.name.c_str(), r);
        return 1;
      }
      v.samples_ms.push_back(ms_since(t));
    }
  }
  std::printf("%-12s %10s %10s %12s %14s\n", "variant", "median_ms", "p90_ms", "serial_per_s", "parallel2_per_s");
  for (auto& v : variants) {
    // Throughput two at a time: keep two launches in flight for `runs` launches.
    auto t = Clock::now();
    int started = 0, done = 0;
    for (; started < 2 && started < runs; ++started) (void)spawn(v);
    while (done < runs) {
      if (wait(nullptr) < 0) break;
      ++done;
      if (started < runs) {
        (void)spawn(v);
        ++started;
      }
    }
    while (wait(nullptr) > 0) {}
    const double parallel = runs / (ms_since(t) / 1000.0);
    const double median = percentile(v.samples_ms, 0.5);
    std::printf("%-12s %10.3f %10.3f %12.1f %14.1f\n", v.name.c_str(), median, percentile(v.samples_ms, 0.9),
                1000.0 / median, parallel);
  }
  return 0;
}
