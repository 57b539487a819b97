// A job's cgroup v2 leaf: created per run, the target cloned straight into it, killed and
// removed at the end. The cgroup is the kill unit (cgroup.kill reaches daemons and double forks
// that left the process tree) and the source of the kernel's own accounting (cpu.stat,
// memory.peak, memory.events, pids.events).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confine/error.h"
#include "confine/fd.h"

namespace confine::cgroup {

// The value for `key` in the "key value" lines of a flat-keyed cgroup file's text (cpu.stat,
// memory.events, cgroup.events); nullopt when the key is absent or its value is no number.
[[nodiscard]] std::optional<uint64_t> key_value(std::string_view text, std::string_view key);

// When this process itself sits in `parent` (rootless: the scope systemd delegated to us, see
// docs/cgroups.md), moves it into `<parent>/supervisor`, so that controllers may be enabled in
// `parent` for the job leaves beside it. Does nothing when we are elsewhere. Leaf::create calls
// it; exposed for tests.
[[nodiscard]] Expected<void> vacate_parent(const std::string& parent);

// How often Leaf::create sweeps the leaves of dead confines from a parent, in this process. By
// default every time: each `confine run` is a process of its own. A batch worker, which creates
// a leaf per job, sets an interval (see cli/batch.cpp).
void sweep_at_most_every(std::chrono::seconds interval);

class Leaf {
 public:
  // Creates `parent` if needed (one level, mode 0755) and a uniquely named leaf in it, with
  // `controllers` ("memory", "pids", "cpu") enabled on the way down from the cgroup2 root
  // (skipping cgroups where they already are). If this process sits in `parent`, it first moves
  // into `<parent>/supervisor` (vacate_parent).
  [[nodiscard]] static Expected<Leaf> create(const std::string& parent,
                                             const std::vector<std::string>& controllers = {});

  Leaf(Leaf&&) noexcept = default;
  Leaf& operator=(Leaf&&) noexcept;
  Leaf(const Leaf&) = delete;
  Leaf& operator=(const Leaf&) = delete;
  ~Leaf();  // kills whatever is left and removes the directory

  [[nodiscard]] const std::string& path() const { return path_; }
  // O_DIRECTORY fd of the leaf, for clone3's CLONE_INTO_CGROUP.
  [[nodiscard]] int dir_fd() const { return dir_.get(); }

  [[nodiscard]] Expected<void> write(const std::string& file, const std::string& value) const;
  [[nodiscard]] Expected<std::string> read(const std::string& file) const;
  // "key value" lines (cpu.stat, memory.events, cgroup.events): the value for `key`.
  [[nodiscard]] std::optional<uint64_t> read_key(const std::string& file, const std::string& key) const;
  // One number files (memory.peak, pids.peak); nullopt when absent or "max".
  [[nodiscard]] std::optional<uint64_t> read_number(const std::string& file) const;

  // Sends `signal` to every process in the leaf (frozen while listing, so none forks away).
  [[nodiscard]] Expected<void> signal_all(int signal) const;
  // SIGKILL to everything in the leaf at once (cgroup.kill).
  [[nodiscard]] Expected<void> kill() const;
  [[nodiscard]] bool populated() const;
  // Waits until the leaf has no process left, up to `timeout`.
  [[nodiscard]] bool wait_empty(std::chrono::milliseconds timeout) const;
  // Kills, waits and removes now, reporting failure (the destructor does the same silently).
  [[nodiscard]] Expected<void> remove();

 private:
  Leaf(std::string path, UniqueFd dir) : path_(std::move(path)), dir_(std::move(dir)) {}
  std::string path_;
  UniqueFd dir_;
};

}  // namespace confine::cgroup
