// evaluate(): a small classic-BPF interpreter for the subset seccomp filters use, so tests and
// `explain` can check what a filter does without installing it. Every load, store and jump is
// bounds-checked; a malformed program is an error, never undefined behaviour.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "confine/seccomp.h"

namespace confine::seccomp {

namespace {

// Classic BPF only jumps forward, so a program runs at most its own length; the limit guards
// against a bug here, not against the program.
constexpr size_t kMaxSteps = 4096;
static_assert(sizeof(seccomp_data) == 64, "seccomp_data layout");

Expected<uint32_t> bad(size_t pc, const std::string& why) {
  return fail(ErrorCode::kInvalidArgument,
              "BPF instruction " + std::to_string(pc) + ": " + why);
}

class Machine {
 public:
  Machine(const std::vector<sock_filter>& program, const FakeSyscall& call) : program_(program) {
    seccomp_data data{};
    data.nr = call.nr;
    // libseccomp's architecture tokens are the AUDIT_ARCH_* values the kernel reports.
    data.arch = call.arch == 0 ? seccomp_arch_native() : call.arch;
    for (size_t i = 0; i < 6; ++i) data.args[i] = call.args[i];
    std::memcpy(data_.data(), &data, sizeof data);  // host byte order, as the kernel provides it
  }

  Expected<uint32_t> run() {
    size_t pc = 0;
    for (size_t steps = 0; steps < kMaxSteps; ++steps) {
      if (pc >= program_.size()) return bad(pc, "ran past the end of the program");
      const sock_filter& in = program_[pc];
      const uint32_t k = in.k;
      switch (BPF_CLASS(in.code)) {
        case BPF_LD:
        case BPF_LDX: {
          auto value = load(in, pc);
          if (!value) return value;
          (BPF_CLASS(in.code) == BPF_LD ? a_ : x_) = *value;
          ++pc;
          break;
        }
        case BPF_ST:
        case BPF_STX:
          if (k >= BPF_MEMWORDS) return bad(pc, "store to scratch word " + std::to_string(k));
          mem_[k] = BPF_CLASS(in.code) == BPF_ST ? a_ : x_;
          written_ |= 1U << k;
          ++pc;
          break;
        case BPF_ALU: {
          auto r = alu(in, pc);
          if (!r) return r;
          ++pc;
          break;
        }
        case BPF_JMP: {
          auto next = jump(in, pc);
          if (!next) return unexpected(std::move(next.error()));
          pc = *next;
          break;
        }
        case BPF_RET:
          if (BPF_RVAL(in.code) == BPF_K) return k;
          if (BPF_RVAL(in.code) == BPF_A) return a_;
          return bad(pc, "unsupported return source");
        case BPF_MISC:
          if (BPF_MISCOP(in.code) == BPF_TAX) {
            x_ = a_;
          } else if (BPF_MISCOP(in.code) == BPF_TXA) {
            a_ = x_;
          } else {
            return bad(pc, "unsupported misc operation");
          }
          ++pc;
          break;
        default:
          return bad(pc, "unsupported instruction class");
      }
    }
    return fail(ErrorCode::kInvalidArgument, "BPF program exceeded the step limit");
  }

 private:
  Expected<uint32_t> load(const sock_filter& in, size_t pc) const {
    const uint32_t k = in.k;
    switch (BPF_MODE(in.code)) {
      case BPF_IMM: return k;
      case BPF_MEM:
        if (k >= BPF_MEMWORDS) return bad(pc, "load from scratch word " + std::to_string(k));
        // The kernel's checker rejects reads of scratch words never written; so do we.
        if ((written_ & (1U << k)) == 0) return bad(pc, "load from unwritten scratch word");
        return mem_[k];
      case BPF_LEN: return static_cast<uint32_t>(data_.size());
      case BPF_ABS: {
        // seccomp only allows aligned 32-bit loads inside struct seccomp_data.
        if (BPF_CLASS(in.code) != BPF_LD || BPF_SIZE(in.code) != BPF_W) {
          return bad(pc, "only 32-bit absolute loads are valid in seccomp");
        }
        if (k % 4 != 0 || k > data_.size() - 4) {
          return bad(pc, "absolute load at offset " + std::to_string(k) + " is out of bounds");
        }
        uint32_t value = 0;
        std::memcpy(&value, data_.data() + k, sizeof value);
        return value;
      }
      default: return bad(pc, "unsupported load mode");
    }
  }

  Expected<uint32_t> alu(const sock_filter& in, size_t pc) {
    const uint32_t operand = BPF_SRC(in.code) == BPF_X ? x_ : in.k;
    switch (BPF_OP(in.code)) {
      case BPF_ADD: a_ += operand; break;
      case BPF_SUB: a_ -= operand; break;
      case BPF_MUL: a_ *= operand; break;
      case BPF_DIV:
      case BPF_MOD:
        if (operand == 0) return bad(pc, "division by zero");
        a_ = BPF_OP(in.code) == BPF_DIV ? a_ / operand : a_ % operand;
        break;
      case BPF_AND: a_ &= operand; break;
      case BPF_OR: a_ |= operand; break;
      case BPF_XOR: a_ ^= operand; break;
      case BPF_LSH: a_ = operand >= 32 ? 0 : a_ << operand; break;
      case BPF_RSH: a_ = operand >= 32 ? 0 : a_ >> operand; break;
      case BPF_NEG: a_ = 0U - a_; break;
      default: return bad(pc, "unsupported ALU operation");
    }
    return a_;
  }

  Expected<size_t> jump(const sock_filter& in, size_t pc) const {
    size_t next = pc + 1;
    size_t target = 0;
    if (BPF_OP(in.code) == BPF_JA) {
      target = next + in.k;
    } else {
      const uint32_t operand = BPF_SRC(in.code) == BPF_X ? x_ : in.k;
      bool taken = false;
      switch (BPF_OP(in.code)) {
        case BPF_JEQ: taken = a_ == operand; break;
        case BPF_JGT: taken = a_ > operand; break;
        case BPF_JGE: taken = a_ >= operand; break;
        case BPF_JSET: taken = (a_ & operand) != 0; break;
        default: return unexpected(bad(pc, "unsupported jump").error());
      }
      target = next + (taken ? in.jt : in.jf);
    }
    if (target >= program_.size()) {
      return unexpected(bad(pc, "jump to " + std::to_string(target) + " is out of bounds").error());
    }
    return target;
  }

  const std::vector<sock_filter>& program_;
  std::array<unsigned char, sizeof(seccomp_data)> data_{};
  std::array<uint32_t, BPF_MEMWORDS> mem_{};
  uint32_t written_ = 0;  // bit i set once scratch word i has been stored
  uint32_t a_ = 0;
  uint32_t x_ = 0;
};

// The kernel's load-time checks that do not depend on the input (bpf_check_classic): every
// jump, taken or not, lands inside the program, and the last instruction returns. A program that
// would be refused at install time is refused here too, whatever path this call takes.
Expected<void> check_static(const std::vector<sock_filter>& program) {
  for (size_t pc = 0; pc < program.size(); ++pc) {
    const sock_filter& in = program[pc];
    if (BPF_CLASS(in.code) != BPF_JMP) continue;
    size_t next = pc + 1;
    bool in_range = BPF_OP(in.code) == BPF_JA
                        ? in.k < program.size() - next
                        : next + in.jt < program.size() && next + in.jf < program.size();
    if (!in_range) {
      return fail(ErrorCode::kInvalidArgument,
                  "BPF instruction " + std::to_string(pc) + ": jump target out of bounds");
    }
  }
  if (BPF_CLASS(program.back().code) != BPF_RET) {
    return fail(ErrorCode::kInvalidArgument, "BPF program does not end with a return");
  }
  return {};
}

}  // namespace

Expected<uint32_t> evaluate(const Program& program, const FakeSyscall& call) {
  if (program.instructions.empty()) {
    return fail(ErrorCode::kInvalidArgument, "empty BPF program");
  }
  if (program.instructions.size() > kMaxSteps) {
    return fail(ErrorCode::kInvalidArgument, "BPF program longer than 4096 instructions");
  }
  if (auto r = check_static(program.instructions); !r) return unexpected(std::move(r.error()));
  return Machine(program.instructions, call).run();
}

}  // namespace confine::seccomp
