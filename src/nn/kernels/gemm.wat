;; refinery's WebAssembly SIMD kernels (128-bit, f32x4). Assembled to gemm_wasm.ts by
;; `npm run kernels` (scripts/build-kernels.mjs, with wabt); a test checks the two agree.
;;
;; All matrices are row-major f32 in this module's memory, addressed in bytes. The caller
;; pads: rows to a multiple of 4 and columns of B and C to a multiple of 8, so the inner
;; kernel is one 4×8 register block (eight f32x4 accumulators) with no edge cases.
(module
  ;; The memory is imported, so a model's arena can run these kernels and the transformer
  ;; kernels (transformer.wat) on one memory; simd.ts gives the shared instance its own.
  (import "env" "memory" (memory 1))
  (export "memory" (memory 0))

  ;; C[mp, np] = act(A[mp, k] · B[k, np]  (+ C when accum ≠ 0)  (+ bias[np] when pbias ≠ 0)),
  ;; act: 0 none, 1 relu, 2 tanh.  mp % 4 = 0, np % 8 = 0, k ≥ 0. Row strides in floats:
  ;; sa of A, sb of B, sc of C (k, np, np when the matrices are whole), so a caller can hand
  ;; a block of C's rows or columns to another thread; each output element is summed in the
  ;; same order whatever the block, so a split product is bit-identical to the whole one.
  (func $gemm_s_panel
    (param $pa i32) (param $pb i32) (param $pc i32)
    (param $mp i32) (param $k i32) (param $np i32)
    (param $sa i32) (param $sb i32) (param $sc i32)
    (param $pbias i32) (param $accum i32) (param $act i32)
    (local $i i32) (local $j i32) (local $p i32)
    (local $lda i32) (local $ldb i32) (local $ldc i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32)
    (local $bp i32) (local $cp i32) (local $arow i32)
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $zero v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $lda (i32.shl (local.get $sa) (i32.const 2)))
    (local.set $ldb (i32.shl (local.get $sb) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $sc) (i32.const 2)))
    (local.set $zero (v128.const i32x4 0 0 0 0))
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $mp)))
        (local.set $arow (i32.add (local.get $pa) (i32.mul (local.get $i) (local.get $lda))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $np)))
            ;; cp = &C[i, j]
            (local.set $cp (i32.add (local.get $pc)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $sc)) (local.get $j)) (i32.const 2))))
            (if (local.get $accum)
              (then
                (local.set $c00 (v128.load offset=0 (local.get $cp)))
                (local.set $c01 (v128.load offset=16 (local.get $cp)))
                (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
                (local.set $c10 (v128.load offset=0 (local.get $cp)))
                (local.set $c11 (v128.load offset=16 (local.get $cp)))
                (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
                (local.set $c20 (v128.load offset=0 (local.get $cp)))
                (local.set $c21 (v128.load offset=16 (local.get $cp)))
                (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
                (local.set $c30 (v128.load offset=0 (local.get $cp)))
                (local.set $c31 (v128.load offset=16 (local.get $cp))))
              (else
                (local.set $c00 (local.get $zero)) (local.set $c01 (local.get $zero))
                (local.set $c10 (local.get $zero)) (local.set $c11 (local.get $zero))
                (local.set $c20 (local.get $zero)) (local.set $c21 (local.get $zero))
                (local.set $c30 (local.get $zero)) (local.set $c31 (local.get $zero))))
            ;; one pointer per row of A's 4-row block: each step's four A values are then
            ;; loads with no address arithmetic (load32_splat broadcasts one float to four lanes)
            (local.set $q0 (local.get $arow))
            (local.set $q1 (i32.add (local.get $q0) (local.get $lda)))
            (local.set $q2 (i32.add (local.get $q1) (local.get $lda)))
            (local.set $q3 (i32.add (local.get $q2) (local.get $lda)))
            (local.set $bp (i32.add (local.get $pb) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (local.get $k))
            (block $k_done
              (loop $kloop
                (br_if $k_done (i32.eqz (local.get $p)))
                (local.set $b0 (v128.load offset=0 (local.get $bp)))
                (local.set $b1 (v128.load offset=16 (local.get $bp)))
                (local.set $a (v128.load32_splat (local.get $q0)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
                (local.set $a (v128.load32_splat (local.get $q1)))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
                (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
                (local.set $a (v128.load32_splat (local.get $q2)))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
                (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
                (local.set $a (v128.load32_splat (local.get $q3)))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
                (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
                (local.set $q0 (i32.add (local.get $q0) (i32.const 4)))
                (local.set $q1 (i32.add (local.get $q1) (i32.const 4)))
                (local.set $q2 (i32.add (local.get $q2) (i32.const 4)))
                (local.set $q3 (i32.add (local.get $q3) (i32.const 4)))
                (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
                (local.set $p (i32.sub (local.get $p) (i32.const 1)))
                (br $kloop)))
            ;; epilogue: bias, relu, store the 4×8 block
            (if (local.get $pbias)
              (then
                (local.set $b0 (v128.load offset=0 (i32.add (local.get $pbias) (i32.shl (local.get $j) (i32.const 2)))))
                (local.set $b1 (v128.load offset=16 (i32.add (local.get $pbias) (i32.shl (local.get $j) (i32.const 2)))))
                (local.set $c00 (f32x4.add (local.get $c00) (local.get $b0))) (local.set $c01 (f32x4.add (local.get $c01) (local.get $b1)))
                (local.set $c10 (f32x4.add (local.get $c10) (local.get $b0))) (local.set $c11 (f32x4.add (local.get $c11) (local.get $b1)))
                (local.set $c20 (f32x4.add (local.get $c20) (local.get $b0))) (local.set $c21 (f32x4.add (local.get $c21) (local.get $b1)))
                (local.set $c30 (f32x4.add (local.get $c30) (local.get $b0))) (local.set $c31 (f32x4.add (local.get $c31) (local.get $b1)))))
            (if (i32.eq (local.get $act) (i32.const 2))
              (then
                (local.set $c00 (call $tanh4 (local.get $c00))) (local.set $c01 (call $tanh4 (local.get $c01)))
                (local.set $c10 (call $tanh4 (local.get $c10))) (local.set $c11 (call $tanh4 (local.get $c11)))
                (local.set $c20 (call $tanh4 (local.get $c20))) (local.set $c21 (call $tanh4 (local.get $c21)))
                (local.set $c30 (call $tanh4 (local.get $c30))) (local.set $c31 (call $tanh4 (local.get $c31)))))
            (if (i32.eq (local.get $act) (i32.const 1))
              (then
                (local.set $c00 (f32x4.max (local.get $c00) (local.get $zero))) (local.set $c01 (f32x4.max (local.get $c01) (local.get $zero)))
                (local.set $c10 (f32x4.max (local.get $c10) (local.get $zero))) (local.set $c11 (f32x4.max (local.get $c11) (local.get $zero)))
                (local.set $c20 (f32x4.max (local.get $c20) (local.get $zero))) (local.set $c21 (f32x4.max (local.get $c21) (local.get $zero)))
                (local.set $c30 (f32x4.max (local.get $c30) (local.get $zero))) (local.set $c31 (f32x4.max (local.get $c31) (local.get $zero)))))
            (local.set $cp (i32.add (local.get $pc)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $sc)) (local.get $j)) (i32.const 2))))
            (v128.store offset=0 (local.get $cp) (local.get $c00))
            (v128.store offset=16 (local.get $cp) (local.get $c01))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (v128.store offset=0 (local.get $cp) (local.get $c10))
            (v128.store offset=16 (local.get $cp) (local.get $c11))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (v128.store offset=0 (local.get $cp) (local.get $c20))
            (v128.store offset=16 (local.get $cp) (local.get $c21))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (v128.store offset=0 (local.get $cp) (local.get $c30))
            (v128.store offset=16 (local.get $cp) (local.get $c31))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; C[mp, np] = act(Aᵀ · B (+ C) (+ bias)) with A stored transposed, [k, mp] (row stride
  ;; sa, mp when whole; B's sb, C's sc as in gemm_s): the weight gradient xᵀ·dz without a
  ;; transposed copy. The four A values a block needs at step p are adjacent, so they are
  ;; four broadcast loads from one pointer at fixed offsets.
  (func $gemm_tn_s_panel
    (param $pa i32) (param $pb i32) (param $pc i32)
    (param $mp i32) (param $k i32) (param $np i32)
    (param $sa i32) (param $sb i32) (param $sc i32)
    (param $pbias i32) (param $accum i32) (param $act i32)
    (local $i i32) (local $j i32) (local $p i32)
    (local $lda i32) (local $ldb i32) (local $ldc i32)
    (local $ap i32) (local $bp i32) (local $cp i32) (local $arow i32)
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $zero v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $lda (i32.shl (local.get $sa) (i32.const 2)))
    (local.set $ldb (i32.shl (local.get $sb) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $sc) (i32.const 2)))
    (local.set $zero (v128.const i32x4 0 0 0 0))
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $mp)))
        (local.set $arow (i32.add (local.get $pa) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $np)))
            ;; cp = &C[i, j]
            (local.set $cp (i32.add (local.get $pc)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $sc)) (local.get $j)) (i32.const 2))))
            (if (local.get $accum)
              (then
                (local.set $c00 (v128.load offset=0 (local.get $cp)))
                (local.set $c01 (v128.load offset=16 (local.get $cp)))
                (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
                (local.set $c10 (v128.load offset=0 (local.get $cp)))
                (local.set $c11 (v128.load offset=16 (local.get $cp)))
                (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
                (local.set $c20 (v128.load offset=0 (local.get $cp)))
                (local.set $c21 (v128.load offset=16 (local.get $cp)))
                (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
                (local.set $c30 (v128.load offset=0 (local.get $cp)))
                (local.set $c31 (v128.load offset=16 (local.get $cp))))
              (else
                (local.set $c00 (local.get $zero)) (local.set $c01 (local.get $zero))
                (local.set $c10 (local.get $zero)) (local.set $c11 (local.get $zero))
                (local.set $c20 (local.get $zero)) (local.set $c21 (local.get $zero))
                (local.set $c30 (local.get $zero)) (local.set $c31 (local.get $zero))))
            (local.set $ap (local.get $arow))
            (local.set $bp (i32.add (local.get $pb) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (i32.const 0))
            (block $k_done
              (loop $kloop
                (br_if $k_done (i32.ge_u (local.get $p) (local.get $k)))
                (local.set $b0 (v128.load offset=0 (local.get $bp)))
                (local.set $b1 (v128.load offset=16 (local.get $bp)))
                (local.set $a (v128.load32_splat offset=0 (local.get $ap)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
                (local.set $a (v128.load32_splat offset=4 (local.get $ap)))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
                (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
                (local.set $a (v128.load32_splat offset=8 (local.get $ap)))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
                (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
                (local.set $a (v128.load32_splat offset=12 (local.get $ap)))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
                (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
                (local.set $ap (i32.add (local.get $ap) (local.get $lda)))
                (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $kloop)))
            ;; epilogue: bias, relu, store the 4×8 block
            (if (local.get $pbias)
              (then
                (local.set $b0 (v128.load offset=0 (i32.add (local.get $pbias) (i32.shl (local.get $j) (i32.const 2)))))
                (local.set $b1 (v128.load offset=16 (i32.add (local.get $pbias) (i32.shl (local.get $j) (i32.const 2)))))
                (local.set $c00 (f32x4.add (local.get $c00) (local.get $b0))) (local.set $c01 (f32x4.add (local.get $c01) (local.get $b1)))
                (local.set $c10 (f32x4.add (local.get $c10) (local.get $b0))) (local.set $c11 (f32x4.add (local.get $c11) (local.get $b1)))
                (local.set $c20 (f32x4.add (local.get $c20) (local.get $b0))) (local.set $c21 (f32x4.add (local.get $c21) (local.get $b1)))
                (local.set $c30 (f32x4.add (local.get $c30) (local.get $b0))) (local.set $c31 (f32x4.add (local.get $c31) (local.get $b1)))))
            (if (i32.eq (local.get $act) (i32.const 2))
              (then
                (local.set $c00 (call $tanh4 (local.get $c00))) (local.set $c01 (call $tanh4 (local.get $c01)))
                (local.set $c10 (call $tanh4 (local.get $c10))) (local.set $c11 (call $tanh4 (local.get $c11)))
                (local.set $c20 (call $tanh4 (local.get $c20))) (local.set $c21 (call $tanh4 (local.get $c21)))
                (local.set $c30 (call $tanh4 (local.get $c30))) (local.set $c31 (call $tanh4 (local.get $c31)))))
            (if (i32.eq (local.get $act) (i32.const 1))
              (then
                (local.set $c00 (f32x4.max (local.get $c00) (local.get $zero))) (local.set $c01 (f32x4.max (local.get $c01) (local.get $zero)))
                (local.set $c10 (f32x4.max (local.get $c10) (local.get $zero))) (local.set $c11 (f32x4.max (local.get $c11) (local.get $zero)))
                (local.set $c20 (f32x4.max (local.get $c20) (local.get $zero))) (local.set $c21 (f32x4.max (local.get $c21) (local.get $zero)))
                (local.set $c30 (f32x4.max (local.get $c30) (local.get $zero))) (local.set $c31 (f32x4.max (local.get $c31) (local.get $zero)))))
            (local.set $cp (i32.add (local.get $pc)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $sc)) (local.get $j)) (i32.const 2))))
            (v128.store offset=0 (local.get $cp) (local.get $c00))
            (v128.store offset=16 (local.get $cp) (local.get $c01))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (v128.store offset=0 (local.get $cp) (local.get $c10))
            (v128.store offset=16 (local.get $cp) (local.get $c11))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (v128.store offset=0 (local.get $cp) (local.get $c20))
            (v128.store offset=16 (local.get $cp) (local.get $c21))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (v128.store offset=0 (local.get $cp) (local.get $c30))
            (v128.store offset=16 (local.get $cp) (local.get $c31))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; The exported products walk k in chunks of 128 steps so that the A and B panels of a chunk
  ;; stay in cache while every block of C is visited (the dW products have k = batch rows,
  ;; up to thousands). C holds the running sum between chunks in f32, exactly as the
  ;; block's accumulators would, so the chunked product is bit-identical to one pass; the
  ;; bias and activation apply on the last chunk only.
  (func $gemm_s (export "gemm_s")
    (param $pa i32) (param $pb i32) (param $pc i32)
    (param $mp i32) (param $k i32) (param $np i32)
    (param $sa i32) (param $sb i32) (param $sc i32)
    (param $pbias i32) (param $accum i32) (param $act i32)
    (local $k0 i32) (local $kc i32)
    (loop $chunks
      (local.set $kc (i32.sub (local.get $k) (local.get $k0)))
      (if (i32.gt_u (local.get $kc) (i32.const 128))
        (then
          (local.set $kc (i32.const 128))
          (call $gemm_s_panel
            (i32.add (local.get $pa) (i32.shl (local.get $k0) (i32.const 2)))
            (i32.add (local.get $pb) (i32.shl (i32.mul (local.get $k0) (local.get $sb)) (i32.const 2)))
            (local.get $pc) (local.get $mp) (local.get $kc) (local.get $np)
            (local.get $sa) (local.get $sb) (local.get $sc)
            (i32.const 0) (i32.or (local.get $accum) (local.get $k0)) (i32.const 0))
          (local.set $k0 (i32.add (local.get $k0) (i32.const 128)))
          (br $chunks))))
    (call $gemm_s_panel
      (i32.add (local.get $pa) (i32.shl (local.get $k0) (i32.const 2)))
      (i32.add (local.get $pb) (i32.shl (i32.mul (local.get $k0) (local.get $sb)) (i32.const 2)))
      (local.get $pc) (local.get $mp) (local.get $kc) (local.get $np)
      (local.get $sa) (local.get $sb) (local.get $sc)
      (local.get $pbias) (i32.or (local.get $accum) (local.get $k0)) (local.get $act)))

  (func $gemm_tn_s (export "gemm_tn_s")
    (param $pa i32) (param $pb i32) (param $pc i32)
    (param $mp i32) (param $k i32) (param $np i32)
    (param $sa i32) (param $sb i32) (param $sc i32)
    (param $pbias i32) (param $accum i32) (param $act i32)
    (local $k0 i32) (local $kc i32)
    (loop $chunks
      (local.set $kc (i32.sub (local.get $k) (local.get $k0)))
      (if (i32.gt_u (local.get $kc) (i32.const 128))
        (then
          (local.set $kc (i32.const 128))
          (call $gemm_tn_s_panel
            (i32.add (local.get $pa) (i32.shl (i32.mul (local.get $k0) (local.get $sa)) (i32.const 2)))
            (i32.add (local.get $pb) (i32.shl (i32.mul (local.get $k0) (local.get $sb)) (i32.const 2)))
            (local.get $pc) (local.get $mp) (local.get $kc) (local.get $np)
            (local.get $sa) (local.get $sb) (local.get $sc)
            (i32.const 0) (i32.or (local.get $accum) (local.get $k0)) (i32.const 0))
          (local.set $k0 (i32.add (local.get $k0) (i32.const 128)))
          (br $chunks))))
    (call $gemm_tn_s_panel
      (i32.add (local.get $pa) (i32.shl (i32.mul (local.get $k0) (local.get $sa)) (i32.const 2)))
      (i32.add (local.get $pb) (i32.shl (i32.mul (local.get $k0) (local.get $sb)) (i32.const 2)))
      (local.get $pc) (local.get $mp) (local.get $kc) (local.get $np)
      (local.get $sa) (local.get $sb) (local.get $sc)
      (local.get $pbias) (i32.or (local.get $accum) (local.get $k0)) (local.get $act)))

  ;; gemm_s and gemm_tn_s on whole, contiguous matrices.
  (func (export "gemm")
    (param $pa i32) (param $pb i32) (param $pc i32)
    (param $mp i32) (param $k i32) (param $np i32)
    (param $pbias i32) (param $accum i32) (param $act i32)
    (call $gemm_s (local.get $pa) (local.get $pb) (local.get $pc) (local.get $mp) (local.get $k) (local.get $np)
      (local.get $k) (local.get $np) (local.get $np) (local.get $pbias) (local.get $accum) (local.get $act)))

  (func (export "gemm_tn")
    (param $pa i32) (param $pb i32) (param $pc i32)
    (param $mp i32) (param $k i32) (param $np i32)
    (param $pbias i32) (param $accum i32) (param $act i32)
    (call $gemm_tn_s (local.get $pa) (local.get $pb) (local.get $pc) (local.get $mp) (local.get $k) (local.get $np)
      (local.get $mp) (local.get $np) (local.get $np) (local.get $pbias) (local.get $accum) (local.get $act)))

  ;; tanh of four floats: a rational approximation (odd degree-13 numerator, even degree-6
  ;; denominator) on x clamped to ±7.905311, where float32 tanh is ±1. Max absolute error
  ;; 3.6e-7 against Math.tanh over [-12, 12] (test/nn/kernels.test.ts checks it).
  (func $tanh4 (param $x v128) (result v128)
    (local $x2 v128) (local $p v128) (local $q v128)
    (local.set $x (f32x4.min (f32x4.max (local.get $x) (f32x4.splat (f32.const -7.90531110763549805)))
                             (f32x4.splat (f32.const 7.90531110763549805))))
    (local.set $x2 (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (f32x4.splat (f32.const -2.76076847742355e-16)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const 2.00018790482477e-13))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const -8.60467152213735e-11))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const 5.12229709037114e-08))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const 1.48572235717979e-05))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const 6.37261928875436e-04))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const 4.89352455891786e-03))))
    (local.set $p (f32x4.mul (local.get $x) (local.get $p)))
    (local.set $q (f32x4.splat (f32.const 1.19825839466702e-06)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (f32x4.splat (f32.const 1.18534705686654e-04))))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (f32x4.splat (f32.const 2.26843463243900e-03))))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (f32x4.splat (f32.const 4.89352518554385e-03))))
    (f32x4.div (local.get $p) (local.get $q)))

  ;; x[i] = tanh(x[i]) for n floats at byte offset px (n % 4 = 0).
  (func (export "tanh") (param $px i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $px) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
        (v128.store (local.get $px) (call $tanh4 (v128.load (local.get $px))))
        (local.set $px (i32.add (local.get $px) (i32.const 16)))
        (br $next))))
)
