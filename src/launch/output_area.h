// The output area: where a job leaves its results when its read-write directories should not
// be trusted with them.
//
// A job writing into a host directory can fill the disk (there is no quota), plant symlinks or
// FIFOs for whoever reads the directory next, and leave set-id or executable files behind. The
// output area is a tmpfs inside the sandbox, capped in bytes and in files (nr_inodes). The child
// hands its mount to the parent; when the job has ended, nothing of it runs any more and the
// parent copies what the area holds into the host directory, which it created itself: regular
// files only (no symlinks, devices, FIFOs or sockets), names checked, modes reset to 0644 and
// 0755, totals capped. What it refused, and why, is in the report.
#pragma once

#include <string>

#include "confine/error.h"
#include "confine/fd.h"
#include "confine/plan.h"
#include "confine/report.h"

namespace confine::launch {

class OutputArea {
 public:
  // Before the job starts: the host directory is created (mode 0755) or, when it exists, must be
  // an empty directory of the caller's; its parent is reached without following symlinks
  // others own (safe_path.h). Also the socket pair the child hands the area's mount over.
  [[nodiscard]] static Expected<OutputArea> prepare(const plan::OutputArea& area);

  [[nodiscard]] int child_socket() const { return child_.get(); }
  void close_child_socket() { child_.reset(); }

  // After the job ended: copies the area into the host directory. A child that died before
  // handing the mount over leaves nothing to copy, which the report says.
  [[nodiscard]] report::OutputAreaReport copy_out();

 private:
  OutputArea() = default;
  plan::OutputArea area_;
  UniqueFd host_dir_;
  UniqueFd parent_, child_;
};

}  // namespace confine::launch
