// The job's stdio belongs to confine: the target gets pipes (or a pty where confine's own
// stdout or stderr is a terminal) and confine moves the bytes, inside the reaper's poll loop.
//
// Why: a job holding the caller's file descriptions can reopen /proc/self/fd/1 and read what the
// caller's output file held before the run, resize the caller's terminal (SIGWINCH lands on the
// caller's shell) or leave it with echo off. With a relay the job only ever holds its own pipe
// or pty, and confine can count and cap what passes (limits.output).
//
// No thread: the reaper's loop polls the relay's fds with its own (STYLE.md: never a second
// thread the clone could copy mid-lock). Every fd confine writes to is used without blocking, so
// a caller that stops reading never stalls the timers that enforce the limits: the job's pipe
// fills up and the job blocks in write(), as it would unsandboxed.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "confine/error.h"
#include "confine/fd.h"
#include "confine/report.h"

namespace confine::launch {

struct RelayOptions {
  bool relay_stdin = false;               // else the job's stdin is /dev/null
  std::optional<uint64_t> output_limit;   // bytes of stdout+stderr passed through
  // confine's side. `run` relays to its own 0, 1, 2; other callers (batch) name other fds.
  int in_fd = 0, out_fd = 1, err_fd = 2;
};

class Relay {
 public:
  [[nodiscard]] static Expected<std::unique_ptr<Relay>> create(const RelayOptions& options);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // The descriptions the job gets as its fds 0, 1 and 2 (the child dup2s them into place).
  [[nodiscard]] int job_fd(int n) const;
  // Closes confine's copies of the job's ends once the child has its own (after clone), so the
  // relay sees end-of-file when the last process of the job is gone.
  void close_job_ends();

  // The reaper's poll loop: fds to add to its poll set this round, then the results (same order).
  void poll_fds(std::vector<pollfd>& out) const;
  void on_poll(std::span<const pollfd> fds);
  // A stream passed limits.output: the reaper ends the job.
  [[nodiscard]] bool limit_exceeded() const { return limit_exceeded_; }

  // After the job ended: moves what is left in the pipes until end-of-file, giving up at
  // `deadline` (none: wait for the caller as long as it takes). What is given up counts as
  // dropped.
  void drain(std::optional<std::chrono::steady_clock::time_point> deadline);
  // The caller's terminal changed size (SIGWINCH): the job's pty follows.
  void resize_terminal();

  [[nodiscard]] report::OutputStats stats() const;

  struct Stream;  // relay.cpp

 private:
  Relay() = default;
  void count(size_t bytes);

  std::vector<std::unique_ptr<Stream>> streams_;
  UniqueFd job_fds_[3];
  int terminal_fd_ = -1;  // confine's terminal when the job has a pty: its size is copied
  int pty_master_ = -1;   // borrowed from the stream that reads it
  std::optional<uint64_t> limit_;
  uint64_t passed_ = 0;
  bool limit_exceeded_ = false;
  // Where output past limits.output is read and dropped; allocated the first time it is needed.
  // Not on on_poll's stack: a 16 KiB frame is probed page by page on every call
  // (-fstack-clash-protection), and right after the clone those stack pages are shared
  // copy-on-write with the child, so each call took four copy-on-write faults in confine while
  // the sandbox was being set up on the same CPU.
  std::unique_ptr<char[]> drop_buffer_;
};

}  // namespace confine::launch
