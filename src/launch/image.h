// Turns a Plan into the child's Image: flat arrays of plain data and C strings, built before
// clone so the child never allocates. The storage lives in this object, which must outlive the
// clone (the child runs on a copy-on-write copy of it).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "confine/child.h"
#include "confine/error.h"
#include "confine/plan.h"

namespace confine::launch {

class ChildImage {
 public:
  [[nodiscard]] static Expected<std::unique_ptr<ChildImage>> build(const plan::Plan& plan);
  ChildImage(const ChildImage&) = delete;
  ChildImage& operator=(const ChildImage&) = delete;

  void set_marks(uint64_t* marks) { image_.marks = marks; }
  void set_fds(int sync_fd, int error_fd, int status_fd, int notify_fd) {
    image_.sync_fd = sync_fd;
    image_.error_fd = error_fd;
    image_.status_fd = status_fd;
    image_.notify_fd = notify_fd;
  }
  void set_output_fd(int fd) { image_.output_fd = fd; }
  void set_stdio(int in, int out, int err) {
    image_.stdio[0] = in;
    image_.stdio[1] = out;
    image_.stdio[2] = err;
  }
  // The mask the target restores before exec (see child::Image::affinity).
  void set_affinity(const cpu_set_t& mask) {
    affinity_ = mask;
    image_.affinity = &affinity_;
    image_.affinity_size = sizeof affinity_;
  }
  void set_reset_signals(uint64_t mask) { image_.reset_signals = mask; }
  [[nodiscard]] const child::Image& image() const { return image_; }

 private:
  ChildImage() = default;
  const char* keep(std::string s);  // stores s, returns a stable pointer

  std::deque<std::string> strings_;  // deque: growing it never moves existing strings
  std::vector<child::MountStep> steps_;
  std::vector<child::Rlimit> rlimits_;
  std::vector<child::Sysctl> sysctls_;
  std::vector<child::DirectRule> direct_rules_;
  std::vector<char*> argv_, envp_;
  sock_fprog seccomp_{};
  cpu_set_t affinity_{};
  child::Image image_;
};

// A deep copy of a child::Image in one private anonymous mapping of its own: the image, its
// mount steps, rlimits, filter, argv, envp and every string they point to. The launcher marks
// confine's heap MADV_DONTFORK across the clone (launch/run.cpp), so the child has no heap at
// all and must find everything it reads here. When this object goes, the mapping is kept for
// the process's next ImageCopy (one spare; image.cpp says why that is sound).
class ImageCopy {
 public:
  [[nodiscard]] static Expected<ImageCopy> make(const child::Image& from);
  ImageCopy(ImageCopy&& other) noexcept;
  ImageCopy& operator=(ImageCopy&&) = delete;
  ImageCopy(const ImageCopy&) = delete;
  ImageCopy& operator=(const ImageCopy&) = delete;
  ~ImageCopy();

  [[nodiscard]] const child::Image& image() const { return *image_; }
  [[nodiscard]] uintptr_t begin() const { return reinterpret_cast<uintptr_t>(base_); }
  [[nodiscard]] size_t bytes() const { return bytes_; }

 private:
  ImageCopy(void* base, size_t bytes, child::Image* image) : base_(base), bytes_(bytes), image_(image) {}
  void* base_ = nullptr;
  size_t bytes_ = 0;
  child::Image* image_ = nullptr;
};

}  // namespace confine::launch
