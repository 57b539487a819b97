#include "confine/error.h"

#include <cstring>

namespace confine {

std::string Error::render() const {
  std::string out;
  for (auto it = context.rbegin(); it != context.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message;
  if (sys_errno != 0) {
    out += ": ";
    out += std::strerror(sys_errno);
  }
  if (!hint.empty()) {
    out += "\n  hint: ";
    out += hint;
  }
  return out;
}

}  // namespace confine
