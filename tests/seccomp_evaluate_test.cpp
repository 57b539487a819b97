// The userspace BPF interpreter on hand-written programs: each instruction kind it supports, and
// every malformed program refused with an error rather than read out of bounds.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>

#include <cstddef>
#include <cstdint>

#include "confine/seccomp.h"

namespace confine::seccomp {
namespace {

constexpr uint32_t kNrOffset = 0;
constexpr uint32_t kArchOffset = 4;
constexpr uint32_t kArg0LowOffset = 16;
constexpr uint32_t kArg0HighOffset = 20;

sock_filter stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return sock_filter{code, jt, jf, k};
}

Expected<uint32_t> eval(std::vector<sock_filter> instructions, const FakeSyscall& call = {}) {
  return evaluate(Program{std::move(instructions), {}, false}, call);
}

TEST(SeccompEvaluate, LoadsSeccompDataFields) {
  FakeSyscall call;
  call.nr = 59;
  call.args[0] = 0x1122334455667788ULL;
  EXPECT_EQ(eval({stmt(BPF_LD | BPF_W | BPF_ABS, kNrOffset), stmt(BPF_RET | BPF_A, 0)}, call), 59u);
  EXPECT_EQ(eval({stmt(BPF_LD | BPF_W | BPF_ABS, kArchOffset), stmt(BPF_RET | BPF_A, 0)}, call),
            uint32_t{AUDIT_ARCH_X86_64});  // arch 0 means native
  EXPECT_EQ(eval({stmt(BPF_LD | BPF_W | BPF_ABS, kArg0LowOffset), stmt(BPF_RET | BPF_A, 0)}, call),
            0x55667788u);
  EXPECT_EQ(eval({stmt(BPF_LD | BPF_W | BPF_ABS, kArg0HighOffset), stmt(BPF_RET | BPF_A, 0)}, call),
            0x11223344u);
  call.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(eval({stmt(BPF_LD | BPF_W | BPF_ABS, kArchOffset), stmt(BPF_RET | BPF_A, 0)}, call),
            uint32_t{AUDIT_ARCH_I386});
  EXPECT_EQ(eval({stmt(BPF_LD | BPF_W | BPF_LEN, 0), stmt(BPF_RET | BPF_A, 0)}), 64u);
}

TEST(SeccompEvaluate, AluOperations) {
  auto alu = [](uint16_t op, uint32_t a, uint32_t k) {
    return eval({stmt(BPF_LD | BPF_IMM, a), stmt(BPF_ALU | op | BPF_K, k), stmt(BPF_RET | BPF_A, 0)});
  };
  EXPECT_EQ(alu(BPF_ADD, 5, 7), 12u);
  EXPECT_EQ(alu(BPF_SUB, 5, 7), 0xfffffffeu);  // wraps like the kernel's u32
  EXPECT_EQ(alu(BPF_MUL, 6, 7), 42u);
  EXPECT_EQ(alu(BPF_DIV, 42, 5), 8u);
  EXPECT_EQ(alu(BPF_MOD, 42, 5), 2u);
  EXPECT_EQ(alu(BPF_AND, 0xff0f, 0x0ff0), 0x0f00u);
  EXPECT_EQ(alu(BPF_OR, 0xf000, 0x000f), 0xf00fu);
  EXPECT_EQ(alu(BPF_XOR, 0xff, 0x0f), 0xf0u);
  EXPECT_EQ(alu(BPF_LSH, 1, 4), 16u);
  EXPECT_EQ(alu(BPF_RSH, 0x80000000, 31), 1u);
  EXPECT_EQ(alu(BPF_LSH, 1, 32), 0u);  // no undefined shift
  EXPECT_EQ(alu(BPF_NEG, 1, 0), 0xffffffffu);
  EXPECT_FALSE(alu(BPF_DIV, 1, 0).has_value());
  EXPECT_FALSE(alu(BPF_MOD, 1, 0).has_value());
  // The X register as the operand.
  EXPECT_EQ(eval({stmt(BPF_LDX | BPF_IMM, 3), stmt(BPF_LD | BPF_IMM, 10),
                  stmt(BPF_ALU | BPF_SUB | BPF_X, 0), stmt(BPF_RET | BPF_A, 0)}),
            7u);
}

TEST(SeccompEvaluate, RegistersAndScratchMemory) {
  EXPECT_EQ(eval({stmt(BPF_LD | BPF_IMM, 9), stmt(BPF_MISC | BPF_TAX, 0),
                  stmt(BPF_LD | BPF_IMM, 1), stmt(BPF_MISC | BPF_TXA, 0), stmt(BPF_RET | BPF_A, 0)}),
            9u);
  EXPECT_EQ(eval({stmt(BPF_LD | BPF_IMM, 21), stmt(BPF_ST, 15), stmt(BPF_LDX | BPF_IMM, 4),
                  stmt(BPF_STX, 0), stmt(BPF_LD | BPF_MEM, 0), stmt(BPF_LDX | BPF_MEM, 15),
                  stmt(BPF_ALU | BPF_ADD | BPF_X, 0), stmt(BPF_RET | BPF_A, 0)}),
            25u);
}

TEST(SeccompEvaluate, Jumps) {
  // if (A == 7) return 1 else return 2, then JGT, JGE, JSET with K and X, and JA.
  auto branch = [](uint16_t op, uint32_t a, uint32_t k) {
    return eval({stmt(BPF_LD | BPF_IMM, a), jump(BPF_JMP | op | BPF_K, k, 0, 1),
                 stmt(BPF_RET | BPF_K, 1), stmt(BPF_RET | BPF_K, 2)});
  };
  EXPECT_EQ(branch(BPF_JEQ, 7, 7), 1u);
  EXPECT_EQ(branch(BPF_JEQ, 7, 8), 2u);
  EXPECT_EQ(branch(BPF_JGT, 8, 7), 1u);
  EXPECT_EQ(branch(BPF_JGT, 7, 7), 2u);
  EXPECT_EQ(branch(BPF_JGE, 7, 7), 1u);
  EXPECT_EQ(branch(BPF_JGE, 6, 7), 2u);
  EXPECT_EQ(branch(BPF_JSET, 0x10, 0x30), 1u);
  EXPECT_EQ(branch(BPF_JSET, 0x40, 0x30), 2u);
  EXPECT_EQ(eval({stmt(BPF_LD | BPF_IMM, 5), stmt(BPF_LDX | BPF_IMM, 5),
                  jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1), stmt(BPF_RET | BPF_K, 1),
                  stmt(BPF_RET | BPF_K, 2)}),
            1u);
  EXPECT_EQ(eval({stmt(BPF_JMP | BPF_JA, 1), stmt(BPF_RET | BPF_K, 1), stmt(BPF_RET | BPF_K, 3)}),
            3u);
}

TEST(SeccompEvaluate, MalformedProgramsAreErrors) {
  EXPECT_FALSE(eval({}).has_value());
  // Loads outside struct seccomp_data, unaligned, or of the wrong size.
  EXPECT_FALSE(eval({stmt(BPF_LD | BPF_W | BPF_ABS, 64), stmt(BPF_RET | BPF_A, 0)}).has_value());
  EXPECT_FALSE(eval({stmt(BPF_LD | BPF_W | BPF_ABS, 0xfffffffc), stmt(BPF_RET | BPF_A, 0)})
                   .has_value());
  EXPECT_FALSE(eval({stmt(BPF_LD | BPF_W | BPF_ABS, 2), stmt(BPF_RET | BPF_A, 0)}).has_value());
  EXPECT_FALSE(eval({stmt(BPF_LD | BPF_H | BPF_ABS, 0), stmt(BPF_RET | BPF_A, 0)}).has_value());
  EXPECT_FALSE(eval({stmt(BPF_LD | BPF_W | BPF_IND, 0), stmt(BPF_RET | BPF_A, 0)}).has_value());
  // Scratch memory out of range or read before written.
  EXPECT_FALSE(eval({stmt(BPF_ST, 16), stmt(BPF_RET | BPF_K, 0)}).has_value());
  EXPECT_FALSE(eval({stmt(BPF_LD | BPF_MEM, 16), stmt(BPF_RET | BPF_A, 0)}).has_value());
  EXPECT_FALSE(eval({stmt(BPF_LD | BPF_MEM, 3), stmt(BPF_RET | BPF_A, 0)}).has_value());
  // Jumps past the end, and falling off the end.
  EXPECT_FALSE(eval({stmt(BPF_JMP | BPF_JA, 5), stmt(BPF_RET | BPF_K, 0)}).has_value());
  EXPECT_FALSE(eval({stmt(BPF_JMP | BPF_JA, 0xffffffff), stmt(BPF_RET | BPF_K, 0)}).has_value());
  EXPECT_FALSE(eval({jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 200), stmt(BPF_RET | BPF_K, 0)})
                   .has_value());
  // A bad target on the branch not taken is refused too, as the kernel refuses it at load.
  EXPECT_FALSE(eval({jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 200, 0), stmt(BPF_RET | BPF_K, 0)})
                   .has_value());
  EXPECT_FALSE(eval({stmt(BPF_LD | BPF_IMM, 1)}).has_value());
  EXPECT_FALSE(eval({stmt(BPF_RET | BPF_K, 0), stmt(BPF_LD | BPF_IMM, 1)}).has_value());
  // Instructions seccomp never uses.
  EXPECT_FALSE(eval({stmt(BPF_MISC | 0x20, 0), stmt(BPF_RET | BPF_K, 0)}).has_value());
  EXPECT_FALSE(eval({stmt(BPF_RET | BPF_X, 0)}).has_value());
  // Longer than the kernel accepts.
  EXPECT_FALSE(eval(std::vector<sock_filter>(4097, stmt(BPF_RET | BPF_K, 0))).has_value());
}

}  // namespace
}  // namespace confine::seccomp
