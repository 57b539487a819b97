// confine's ELF entry point in the static build on x86-64: two madvise calls, then glibc's _start.
//
// Why: a page fault costs about 10 us on the VMs confine runs on, and before main() even starts
// a static PIE takes about 40 of them. glibc's _start relocates the binary first thing: it
// writes every page of .data.rel.ro, .got and .data (about 20 pages, a copy-on-write fault
// each) and reads its relocation table, the CPU-feature code, the ifunc resolvers and the
// tunables one fault at a time (about 20 more). Here, before any of that runs, one call maps
// the read-only segments (headers, relocations, text, rodata, unwind tables) from the page
// cache and one populates the writable part the relocations will write.
//
// Why it sits here: nothing written in C can run before the relocations. This stub uses only
// PC-relative addresses (which need no relocation) and the raw syscall instruction, touches no
// memory, and keeps %rdx (the kernel's rtld_fini argument to _start) in %r12, which the
// kernel starts at zero and _start does not read. If either call fails (Linux before 5.14),
// nothing changes but the faults. Built only when CONFINE_EARLY_POPULATE is defined
// (src/CMakeLists.txt: the static, unsanitized build on x86-64, linked with -e confine_entry).
#if defined(CONFINE_EARLY_POPULATE) && defined(__x86_64__)
asm(R"(
        .text
        .globl  confine_entry
        .type   confine_entry, @function
confine_entry:
        endbr64
        mov     %rdx, %r12
        # madvise(__executable_start, start of the writable segment, MADV_POPULATE_READ)
        lea     __executable_start(%rip), %rdi
        lea     __init_array_start(%rip), %rsi
        and     $-4096, %rsi
        sub     %rdi, %rsi
        mov     $22, %edx
        mov     $28, %eax
        syscall
        # madvise(start of the writable segment, up to _edata, MADV_POPULATE_WRITE)
        lea     __init_array_start(%rip), %rdi
        and     $-4096, %rdi
        lea     _edata(%rip), %rsi
        sub     %rdi, %rsi
        mov     $23, %edx
        mov     $28, %eax
        syscall
        mov     %r12, %rdx
        xor     %r12d, %r12d
        jmp     _start
        .size   confine_entry, .-confine_entry
)");
#endif
