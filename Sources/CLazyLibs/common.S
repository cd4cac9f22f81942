// The slow path of every trampoline in stubs.S: save the argument registers, ask
// ps_lazy_resolve for the function (loading its library on first use), restore them and jump
// to it, so the caller's call goes on as if it had been direct. The symbol's index arrives in
// r11 (x86_64) or x16 (aarch64), registers no calling convention passes arguments in.
#if defined(__x86_64__)
    .text
    .p2align 4
    .globl ps_lazy_common
    .hidden ps_lazy_common
    .type ps_lazy_common, @function
ps_lazy_common:
    // On entry %rsp is 8 mod 16 (the caller's return address): 9 pushes and 128 bytes of
    // vector registers leave it 16-byte aligned for the call.
    pushq %rbp
    movq %rsp, %rbp
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %rcx
    pushq %r8
    pushq %r9
    pushq %rax
    pushq %r10
    subq $128, %rsp
    movaps %xmm0, 0(%rsp)
    movaps %xmm1, 16(%rsp)
    movaps %xmm2, 32(%rsp)
    movaps %xmm3, 48(%rsp)
    movaps %xmm4, 64(%rsp)
    movaps %xmm5, 80(%rsp)
    movaps %xmm6, 96(%rsp)
    movaps %xmm7, 112(%rsp)
    movl %r11d, %edi
    call ps_lazy_resolve
    movq %rax, %r11
    movaps 0(%rsp), %xmm0
    movaps 16(%rsp), %xmm1
    movaps 32(%rsp), %xmm2
    movaps 48(%rsp), %xmm3
    movaps 64(%rsp), %xmm4
    movaps 80(%rsp), %xmm5
    movaps 96(%rsp), %xmm6
    movaps 112(%rsp), %xmm7
    addq $128, %rsp
    popq %r10
    popq %rax
    popq %r9
    popq %r8
    popq %rcx
    popq %rdx
    popq %rsi
    popq %rdi
    popq %rbp
    jmp *%r11
    .size ps_lazy_common, .-ps_lazy_common
#elif defined(__aarch64__)
    .text
    .p2align 2
    .globl ps_lazy_common
    .hidden ps_lazy_common
    .type ps_lazy_common, %function
ps_lazy_common:
    stp x29, x30, [sp, #-224]!
    mov x29, sp
    stp x0, x1, [sp, #16]
    stp x2, x3, [sp, #32]
    stp x4, x5, [sp, #48]
    stp x6, x7, [sp, #64]
    str x8, [sp, #80]
    stp q0, q1, [sp, #96]
    stp q2, q3, [sp, #128]
    stp q4, q5, [sp, #160]
    stp q6, q7, [sp, #192]
    mov w0, w16
    bl ps_lazy_resolve
    mov x16, x0
    ldp q6, q7, [sp, #192]
    ldp q4, q5, [sp, #160]
    ldp q2, q3, [sp, #128]
    ldp q0, q1, [sp, #96]
    ldr x8, [sp, #80]
    ldp x6, x7, [sp, #64]
    ldp x4, x5, [sp, #48]
    ldp x2, x3, [sp, #32]
    ldp x0, x1, [sp, #16]
    ldp x29, x30, [sp], #224
    br x16
    .size ps_lazy_common, .-ps_lazy_common
#else
#error "CLazyLibs has trampolines for x86_64 and aarch64 only"
#endif
    .section .note.GNU-stack,"",%progbits
