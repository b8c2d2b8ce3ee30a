;; refinery's WebAssembly SIMD kernels for the tiny transformer (128-bit, f32x4): layer
;; norm, GELU/ReLU, column sums, causal attention with its softmax, their backward passes,
;; and Adam. Assembled to transformer_wasm.ts by `npm run kernels` (scripts/build-kernels.mjs).
;;
;; The module imports its memory ("env" "memory"): a model's arena, shared with the gemm
;; kernels (gemm.wat) instantiated on the same memory, so activations never move between
;; calls. Pointers are byte offsets; sizes are in floats. Widths (d, f, head size) are
;; multiples of 4 so every row is whole f32x4 vectors.
(module
  (import "env" "memory" (memory 1))

  ;; Sum of the four lanes.
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; y[c] += s·x[c] over n floats (n % 4 = 0).
  (func $axpy (param $s f32) (param $x i32) (param $y i32) (param $n i32)
    (local $sv v128) (local $end i32)
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (v128.store (local.get $y) (f32x4.add (v128.load (local.get $y)) (f32x4.mul (local.get $sv) (v128.load (local.get $x)))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $next))))

  ;; Largest of the four lanes.
  (func $hmax (param $v v128) (result f32)
    (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.max (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Scores four columns at a time: out[j] = sv·Σ_{c<hd} x[c]·M[c][j] for j in [jlo, jhi)
  ;; (multiples of 4), M row-major with rows rb bytes apart (hb = 4·hd, a multiple of 16).
  ;; Two blocks of four columns per sweep share x[c]'s broadcast; each block sums even and
  ;; odd c in two accumulators, added at the end.
  (func $scores (param $x i32) (param $m i32) (param $rb i32) (param $hb i32) (param $jlo i32) (param $jhi i32)
    (param $out i32) (param $sv v128)
    (local $j i32) (local $xp i32) (local $end i32) (local $mp i32) (local $xs v128)
    (local $a v128) (local $a2 v128) (local $b v128) (local $b2 v128)
    (local.set $end (i32.add (local.get $x) (local.get $hb)))
    (local.set $j (local.get $jlo))
    (block $j_done (loop $j_loop
      (br_if $j_done (i32.ge_u (local.get $j) (local.get $jhi)))
      (local.set $xp (local.get $x))
      (local.set $mp (i32.add (local.get $m) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (if (i32.lt_u (i32.add (local.get $j) (i32.const 4)) (local.get $jhi))
        (then
          (local.set $b (v128.const i32x4 0 0 0 0))
          (local.set $b2 (v128.const i32x4 0 0 0 0))
          (loop $pair
            (local.set $xs (v128.load32_splat (local.get $xp)))
            (local.set $a (f32x4.add (local.get $a) (f32x4.mul (local.get $xs) (v128.load (local.get $mp)))))
            (local.set $b (f32x4.add (local.get $b) (f32x4.mul (local.get $xs) (v128.load offset=16 (local.get $mp)))))
            (local.set $mp (i32.add (local.get $mp) (local.get $rb)))
            (local.set $xs (v128.load32_splat offset=4 (local.get $xp)))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $xs) (v128.load (local.get $mp)))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $xs) (v128.load offset=16 (local.get $mp)))))
            (local.set $mp (i32.add (local.get $mp) (local.get $rb)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 8)))
            (br_if $pair (i32.lt_u (local.get $xp) (local.get $end))))
          (v128.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
            (f32x4.mul (local.get $sv) (f32x4.add (local.get $a) (local.get $a2))))
          (v128.store offset=16 (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
            (f32x4.mul (local.get $sv) (f32x4.add (local.get $b) (local.get $b2))))
          (local.set $j (i32.add (local.get $j) (i32.const 8))))
        (else
          (loop $single
            (local.set $a (f32x4.add (local.get $a) (f32x4.mul (v128.load32_splat (local.get $xp)) (v128.load (local.get $mp)))))
            (local.set $mp (i32.add (local.get $mp) (local.get $rb)))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load32_splat offset=4 (local.get $xp)) (v128.load (local.get $mp)))))
            (local.set $mp (i32.add (local.get $mp) (local.get $rb)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 8)))
            (br_if $single (i32.lt_u (local.get $xp) (local.get $end))))
          (v128.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
            (f32x4.mul (local.get $sv) (f32x4.add (local.get $a) (local.get $a2))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))))
      (br $j_loop))))

  ;; Transposes T rows of hd floats (row j at src + j·stride bytes) into dst [hd, Tp]:
  ;; dst[c·Tp + j] = row_j[c], in 4×4 tiles by shuffles (the last T mod 4 rows lane by
  ;; lane). Columns [T, Tp) are left alone (see $zero_cols).
  (func $transpose (param $src i32) (param $stride i32) (param $T i32) (param $hd i32) (param $dst i32) (param $Tp i32)
    (local $j i32) (local $c i32) (local $hb i32) (local $tb i32) (local $tb4 i32) (local $p i32) (local $s i32) (local $T4 i32)
    (local $v v128) (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $hb (i32.shl (local.get $hd) (i32.const 2)))
    (local.set $tb (i32.shl (local.get $Tp) (i32.const 2)))
    (local.set $tb4 (i32.shl (local.get $tb) (i32.const 2)))
    (local.set $T4 (i32.and (local.get $T) (i32.const -4)))
    (block $q_done (loop $q_loop
      (br_if $q_done (i32.ge_u (local.get $j) (local.get $T4)))
      (local.set $p (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $s (local.get $src))
      (local.set $c (i32.const 0))
      (block $c_done (loop $c_loop
        (br_if $c_done (i32.ge_u (local.get $c) (local.get $hb)))
        (local.set $r0 (v128.load (local.get $s)))
        (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $stride))))
        (local.set $r2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $stride) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $stride) (i32.const 3)))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (v128.store (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
        (v128.store (i32.add (local.get $p) (local.get $tb)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
        (v128.store (i32.add (local.get $p) (i32.shl (local.get $tb) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3)))
        (v128.store (i32.add (local.get $p) (i32.mul (local.get $tb) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2) (local.get $t3)))
        (local.set $p (i32.add (local.get $p) (local.get $tb4)))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $c_loop)))
      (local.set $src (i32.add (local.get $src) (i32.shl (local.get $stride) (i32.const 2))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $q_loop)))
    (block $j_done (loop $j_loop
      (br_if $j_done (i32.ge_u (local.get $j) (local.get $T)))
      (local.set $p (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $c (i32.const 0))
      (block $c_done (loop $c_loop
        (br_if $c_done (i32.ge_u (local.get $c) (local.get $hb)))
        (local.set $v (v128.load (i32.add (local.get $src) (local.get $c))))
        (f32.store (local.get $p) (f32x4.extract_lane 0 (local.get $v)))
        (f32.store (i32.add (local.get $p) (local.get $tb)) (f32x4.extract_lane 1 (local.get $v)))
        (f32.store (i32.add (local.get $p) (i32.shl (local.get $tb) (i32.const 1))) (f32x4.extract_lane 2 (local.get $v)))
        (f32.store (i32.add (local.get $p) (i32.mul (local.get $tb) (i32.const 3))) (f32x4.extract_lane 3 (local.get $v)))
        (local.set $p (i32.add (local.get $p) (local.get $tb4)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $c_loop)))
      (local.set $src (i32.add (local.get $src) (local.get $stride)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $j_loop))))

  ;; Zeroes columns [T, Tp) of the rows × Tp matrix at dst.
  (func $zero_cols (param $dst i32) (param $rows i32) (param $T i32) (param $Tp i32)
    (local $r i32) (local $j i32) (local $row i32)
    (block $r_done (loop $r_loop
      (br_if $r_done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $row (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $r) (local.get $Tp)) (i32.const 2))))
      (local.set $j (local.get $T))
      (block $j_done (loop $j_loop
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $Tp)))
        (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $j_loop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $r_loop))))

  ;; out[c] = Σ_{j<m} w_j·x_j[c] for c < hd (w_j at w + j·ws, x_j at x + j·xs, in bytes;
  ;; hb = 4·hd, a multiple of 16; m ≥ 1). Each lane sums over j in order. Four column
  ;; chunks per sweep (then two, then one) share w_j's broadcast and give independent chains.
  (func $wsum (param $w i32) (param $ws i32) (param $x i32) (param $xs i32) (param $m i32) (param $hb i32) (param $out i32)
    (local $c i32) (local $j i32) (local $a v128) (local $b v128) (local $a2 v128) (local $b2 v128) (local $wj v128)
    (local $wp i32) (local $xp i32) (local $left i32)
    (block $c_done (loop $c_loop
      (local.set $left (i32.sub (local.get $hb) (local.get $c)))
      (br_if $c_done (i32.eqz (local.get $left)))
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $b (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $b2 (v128.const i32x4 0 0 0 0))
      (local.set $wp (local.get $w))
      (local.set $xp (i32.add (local.get $x) (local.get $c)))
      (local.set $j (local.get $m))
      (if (i32.ge_u (local.get $left) (i32.const 64))
        (then
          (loop $quad
            (local.set $wj (v128.load32_splat (local.get $wp)))
            (local.set $a (f32x4.add (local.get $a) (f32x4.mul (local.get $wj) (v128.load (local.get $xp)))))
            (local.set $b (f32x4.add (local.get $b) (f32x4.mul (local.get $wj) (v128.load offset=16 (local.get $xp)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $wj) (v128.load offset=32 (local.get $xp)))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $wj) (v128.load offset=48 (local.get $xp)))))
            (local.set $wp (i32.add (local.get $wp) (local.get $ws)))
            (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $quad (local.get $j)))
          (v128.store (i32.add (local.get $out) (local.get $c)) (local.get $a))
          (v128.store offset=16 (i32.add (local.get $out) (local.get $c)) (local.get $b))
          (v128.store offset=32 (i32.add (local.get $out) (local.get $c)) (local.get $a2))
          (v128.store offset=48 (i32.add (local.get $out) (local.get $c)) (local.get $b2))
          (local.set $c (i32.add (local.get $c) (i32.const 64))))
        (else (if (i32.ge_u (local.get $left) (i32.const 32))
          (then
            (loop $pair
              (local.set $wj (v128.load32_splat (local.get $wp)))
              (local.set $a (f32x4.add (local.get $a) (f32x4.mul (local.get $wj) (v128.load (local.get $xp)))))
              (local.set $b (f32x4.add (local.get $b) (f32x4.mul (local.get $wj) (v128.load offset=16 (local.get $xp)))))
              (local.set $wp (i32.add (local.get $wp) (local.get $ws)))
              (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
              (local.set $j (i32.sub (local.get $j) (i32.const 1)))
              (br_if $pair (local.get $j)))
            (v128.store (i32.add (local.get $out) (local.get $c)) (local.get $a))
            (v128.store offset=16 (i32.add (local.get $out) (local.get $c)) (local.get $b))
            (local.set $c (i32.add (local.get $c) (i32.const 32))))
          (else
            (loop $single
              (local.set $a (f32x4.add (local.get $a) (f32x4.mul (v128.load32_splat (local.get $wp)) (v128.load (local.get $xp)))))
              (local.set $wp (i32.add (local.get $wp) (local.get $ws)))
              (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
              (local.set $j (i32.sub (local.get $j) (i32.const 1)))
              (br_if $single (local.get $j)))
            (v128.store (i32.add (local.get $out) (local.get $c)) (local.get $a))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))))))
      (br $c_loop))))

  ;; exp of four floats (Cephes' expf): x clamped to [-87, 88], x = n·ln2 + r with
  ;; |r| ≤ ln2/2, a degree-6 polynomial for e^r, times 2^n built in the exponent bits.
  ;; Relative error ~2e-7 (test/nn/transformer_kernels.test.ts checks it against Math.exp).
  (func $exp4 (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128)
    (local.set $x (f32x4.min (f32x4.max (local.get $x) (f32x4.splat (f32.const -87))) (f32x4.splat (f32.const 88))))
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $x) (f32x4.splat (f32.const 1.44269504088896341)))))
    (local.set $r (f32x4.sub (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (f32x4.splat (f32.const 0.693359375))))
                             (f32x4.mul (local.get $n) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $p (f32x4.splat (f32.const 1.9875691500e-4)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.3981999507e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 8.3334519073e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 4.1665795894e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.6666665459e-1))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 5.0000001201e-1))))
    (local.set $p (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r))
                             (f32x4.splat (f32.const 1))))
    (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (i32.const 127))) (i32.const 23))))

  ;; x[i] = exp(x[i]) for n floats (n % 4 = 0): for the tests.
  (func (export "exp") (param $px i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $px) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
        (v128.store (local.get $px) (call $exp4 (v128.load (local.get $px))))
        (local.set $px (i32.add (local.get $px) (i32.const 16)))
        (br $next))))

  ;; tanh of four floats: the rational approximation of gemm.wat ($tanh4), within 3.6e-7.
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

  ;; Layer norm of rows of x [rows, d] (biased variance, eps 1e-5): hat = (x − mean)·rstd,
  ;; out = hat·g + b; keeps hat [rows, d] and rstd [rows] for the backward pass.
  (func (export "layernorm")
    (param $px i32) (param $pg i32) (param $pb i32) (param $pout i32) (param $phat i32) (param $prstd i32)
    (param $rows i32) (param $d i32)
    (local $r i32) (local $c i32) (local $row i32) (local $acc v128) (local $e v128)
    (local $mean v128) (local $rs f32) (local $rsv v128) (local $h v128) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.mul (local.get $r) (local.get $bytes)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $c (i32.const 0))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $c) (local.get $bytes)))
          (local.set $acc (f32x4.add (local.get $acc) (v128.load (i32.add (local.get $px) (i32.add (local.get $row) (local.get $c))))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $l1)))
        (local.set $mean (f32x4.splat (f32.div (call $hsum (local.get $acc)) (f32.convert_i32_u (local.get $d)))))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $c (i32.const 0))
        (block $d2 (loop $l2
          (br_if $d2 (i32.ge_u (local.get $c) (local.get $bytes)))
          (local.set $e (f32x4.sub (v128.load (i32.add (local.get $px) (i32.add (local.get $row) (local.get $c)))) (local.get $mean)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $l2)))
        (local.set $rs (f32.div (f32.const 1)
          (f32.sqrt (f32.add (f32.div (call $hsum (local.get $acc)) (f32.convert_i32_u (local.get $d))) (f32.const 1e-5)))))
        (f32.store (i32.add (local.get $prstd) (i32.shl (local.get $r) (i32.const 2))) (local.get $rs))
        (local.set $rsv (f32x4.splat (local.get $rs)))
        (local.set $c (i32.const 0))
        (block $d3 (loop $l3
          (br_if $d3 (i32.ge_u (local.get $c) (local.get $bytes)))
          (local.set $h (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $px) (i32.add (local.get $row) (local.get $c)))) (local.get $mean)) (local.get $rsv)))
          (v128.store (i32.add (local.get $phat) (i32.add (local.get $row) (local.get $c))) (local.get $h))
          (v128.store (i32.add (local.get $pout) (i32.add (local.get $row) (local.get $c)))
            (f32x4.add (f32x4.mul (local.get $h) (v128.load (i32.add (local.get $pg) (local.get $c)))) (v128.load (i32.add (local.get $pb) (local.get $c)))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $l3)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; Backward of layernorm: dx += rstd·(dy·g − mean(dy·g) − hat·mean(dy·g·hat)),
  ;; dg += Σ_rows dy·hat, db += Σ_rows dy.
  (func (export "layernorm_back")
    (param $pdy i32) (param $phat i32) (param $prstd i32) (param $pg i32)
    (param $rows i32) (param $d i32) (param $pdx i32) (param $pdg i32) (param $pdb i32)
    (local $r i32) (local $c i32) (local $row i32) (local $bytes i32)
    (local $dy v128) (local $hat v128) (local $gy v128) (local $s1 v128) (local $s2 v128)
    (local $m1 v128) (local $m2 v128) (local $rs v128) (local $inv f32) (local $a i32)
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $inv (f32.div (f32.const 1) (f32.convert_i32_u (local.get $d))))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.mul (local.get $r) (local.get $bytes)))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $c (i32.const 0))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $c) (local.get $bytes)))
          (local.set $dy (v128.load (i32.add (local.get $pdy) (i32.add (local.get $row) (local.get $c)))))
          (local.set $hat (v128.load (i32.add (local.get $phat) (i32.add (local.get $row) (local.get $c)))))
          (local.set $gy (f32x4.mul (local.get $dy) (v128.load (i32.add (local.get $pg) (local.get $c)))))
          (local.set $s1 (f32x4.add (local.get $s1) (local.get $gy)))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $gy) (local.get $hat))))
          (local.set $a (i32.add (local.get $pdg) (local.get $c)))
          (v128.store (local.get $a) (f32x4.add (v128.load (local.get $a)) (f32x4.mul (local.get $dy) (local.get $hat))))
          (local.set $a (i32.add (local.get $pdb) (local.get $c)))
          (v128.store (local.get $a) (f32x4.add (v128.load (local.get $a)) (local.get $dy)))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $l1)))
        (local.set $m1 (f32x4.splat (f32.mul (call $hsum (local.get $s1)) (local.get $inv))))
        (local.set $m2 (f32x4.splat (f32.mul (call $hsum (local.get $s2)) (local.get $inv))))
        (local.set $rs (f32x4.splat (f32.load (i32.add (local.get $prstd) (i32.shl (local.get $r) (i32.const 2))))))
        (local.set $c (i32.const 0))
        (block $d2 (loop $l2
          (br_if $d2 (i32.ge_u (local.get $c) (local.get $bytes)))
          (local.set $gy (f32x4.mul (v128.load (i32.add (local.get $pdy) (i32.add (local.get $row) (local.get $c)))) (v128.load (i32.add (local.get $pg) (local.get $c)))))
          (local.set $hat (v128.load (i32.add (local.get $phat) (i32.add (local.get $row) (local.get $c)))))
          (local.set $a (i32.add (local.get $pdx) (i32.add (local.get $row) (local.get $c))))
          (v128.store (local.get $a) (f32x4.add (v128.load (local.get $a))
            (f32x4.mul (local.get $rs) (f32x4.sub (f32x4.sub (local.get $gy) (local.get $m1)) (f32x4.mul (local.get $hat) (local.get $m2))))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $l2)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; GELU (tanh approximation) of n floats: th = tanh(√(2/π)(u + 0.044715u³)), act = ½u(1 + th).
  (func (export "gelu") (param $pu i32) (param $pth i32) (param $pact i32) (param $n i32)
    (local $end i32) (local $u v128) (local $t v128)
    (local.set $end (i32.add (local.get $pu) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $pu) (local.get $end)))
        (local.set $u (v128.load (local.get $pu)))
        (local.set $t (call $tanh4 (f32x4.mul (f32x4.splat (f32.const 0.7978845608028654))
          (f32x4.add (local.get $u) (f32x4.mul (f32x4.splat (f32.const 0.044715)) (f32x4.mul (local.get $u) (f32x4.mul (local.get $u) (local.get $u))))))))
        (v128.store (local.get $pth) (local.get $t))
        (v128.store (local.get $pact) (f32x4.mul (f32x4.mul (f32x4.splat (f32.const 0.5)) (local.get $u)) (f32x4.add (f32x4.splat (f32.const 1)) (local.get $t))))
        (local.set $pu (i32.add (local.get $pu) (i32.const 16)))
        (local.set $pth (i32.add (local.get $pth) (i32.const 16)))
        (local.set $pact (i32.add (local.get $pact) (i32.const 16)))
        (br $next))))

  ;; In place: grad ← grad·(½(1 + th) + ½u(1 − th²)·√(2/π)(1 + 3·0.044715u²)).
  (func (export "gelu_back") (param $pu i32) (param $pth i32) (param $pgrad i32) (param $n i32)
    (local $end i32) (local $u v128) (local $t v128) (local $half v128) (local $one v128)
    (local.set $half (f32x4.splat (f32.const 0.5)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $end (i32.add (local.get $pu) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $pu) (local.get $end)))
        (local.set $u (v128.load (local.get $pu)))
        (local.set $t (v128.load (local.get $pth)))
        (v128.store (local.get $pgrad) (f32x4.mul (v128.load (local.get $pgrad))
          (f32x4.add
            (f32x4.mul (local.get $half) (f32x4.add (local.get $one) (local.get $t)))
            (f32x4.mul (f32x4.mul (f32x4.mul (local.get $half) (local.get $u)) (f32x4.sub (local.get $one) (f32x4.mul (local.get $t) (local.get $t))))
              (f32x4.mul (f32x4.splat (f32.const 0.7978845608028654))
                (f32x4.add (local.get $one) (f32x4.mul (f32x4.splat (f32.const 0.134145)) (f32x4.mul (local.get $u) (local.get $u)))))))))
        (local.set $pu (i32.add (local.get $pu) (i32.const 16)))
        (local.set $pth (i32.add (local.get $pth) (i32.const 16)))
        (local.set $pgrad (i32.add (local.get $pgrad) (i32.const 16)))
        (br $next))))

  ;; act = max(u, 0) over n floats.
  (func (export "relu") (param $pu i32) (param $pact i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $pu) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $pu) (local.get $end)))
        (v128.store (local.get $pact) (f32x4.max (v128.load (local.get $pu)) (v128.const i32x4 0 0 0 0)))
        (local.set $pu (i32.add (local.get $pu) (i32.const 16)))
        (local.set $pact (i32.add (local.get $pact) (i32.const 16)))
        (br $next))))

  ;; In place: grad ← 0 where u ≤ 0 (or NaN).
  (func (export "relu_back") (param $pu i32) (param $pgrad i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $pu) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $pu) (local.get $end)))
        (v128.store (local.get $pgrad)
          (v128.and (v128.load (local.get $pgrad)) (f32x4.gt (v128.load (local.get $pu)) (v128.const i32x4 0 0 0 0))))
        (local.set $pu (i32.add (local.get $pu) (i32.const 16)))
        (local.set $pgrad (i32.add (local.get $pgrad) (i32.const 16)))
        (br $next))))

  ;; out[j] += Σ_r x[r, j] for x [rows, cols] (cols % 4 = 0): a bias gradient. Eight rows
  ;; are summed in registers before each add to out, to keep the rounding small.
  (func (export "colsum") (param $px i32) (param $rows i32) (param $cols i32) (param $pout i32)
    (local $r i32) (local $c i32) (local $bytes i32) (local $acc v128) (local $p i32) (local $k i32) (local $a i32)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $cdone (loop $cl
          (br_if $cdone (i32.ge_u (local.get $c) (local.get $bytes)))
          (local.set $acc (v128.const i32x4 0 0 0 0))
          (local.set $p (i32.add (local.get $px) (i32.add (i32.mul (local.get $r) (local.get $bytes)) (local.get $c))))
          (local.set $k (local.get $r))
          (block $kdone (loop $kl
            (br_if $kdone (i32.or (i32.ge_u (local.get $k) (local.get $rows)) (i32.ge_u (local.get $k) (i32.add (local.get $r) (i32.const 8)))))
            (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $bytes)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kl)))
          (local.set $a (i32.add (local.get $pout) (local.get $c)))
          (v128.store (local.get $a) (f32x4.add (v128.load (local.get $a)) (local.get $acc)))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $cl)))
        (local.set $r (i32.add (local.get $r) (i32.const 8)))
        (br $blocks))))

  ;; The softmax numerators of a row of scores at p over the blocks of four keys [jlo, jhi)
  ;; (multiples of 4): e_j = exp(s_j − max) for the visible j in [lo, t] (max over those),
  ;; 0 on the other lanes of the blocks (whatever they held). Returns Σ e. The body of
  ;; $exp4 is inlined: V8 (Node 20) does not inline wasm calls, and a call per block of
  ;; four passing v128 values cost ~5 % of the forward.
  (func $softmax_row (param $p i32) (param $jlo i32) (param $jhi i32) (param $lo i32) (param $t i32) (result f32)
    (local $j i32) (local $a i32) (local $lov v128) (local $tv v128) (local $jv v128) (local $mx v128) (local $max v128)
    (local $sum v128) (local $x v128) (local $n v128) (local $r v128) (local $q v128)
    (local.set $lov (i32x4.splat (local.get $lo)))
    (local.set $tv (i32x4.splat (local.get $t)))
    (local.set $mx (f32x4.splat (f32.const -inf)))
    (local.set $j (local.get $jlo))
    (block $m_done (loop $m_loop
      (br_if $m_done (i32.ge_u (local.get $j) (local.get $jhi)))
      (local.set $jv (i32x4.add (i32x4.splat (local.get $j)) (v128.const i32x4 0 1 2 3)))
      (local.set $mx (f32x4.max (local.get $mx)
        (v128.bitselect (v128.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))) (f32x4.splat (f32.const -inf))
          (v128.and (i32x4.ge_s (local.get $jv) (local.get $lov)) (i32x4.le_s (local.get $jv) (local.get $tv))))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $m_loop)))
    (local.set $max (f32x4.splat (call $hmax (local.get $mx))))
    (local.set $j (local.get $jlo))
    (block $e_done (loop $e_loop
      (br_if $e_done (i32.ge_u (local.get $j) (local.get $jhi)))
      (local.set $a (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2))))
      ;; x = s − max; then $exp4's body
      (local.set $x (f32x4.sub (v128.load (local.get $a)) (local.get $max)))
      (local.set $x (f32x4.min (f32x4.max (local.get $x) (f32x4.splat (f32.const -87))) (f32x4.splat (f32.const 88))))
      (local.set $n (f32x4.nearest (f32x4.mul (local.get $x) (f32x4.splat (f32.const 1.44269504088896341)))))
      (local.set $r (f32x4.sub (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (f32x4.splat (f32.const 0.693359375))))
                               (f32x4.mul (local.get $n) (f32x4.splat (f32.const -2.12194440e-4)))))
      (local.set $q (f32x4.splat (f32.const 1.9875691500e-4)))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (f32x4.splat (f32.const 1.3981999507e-3))))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (f32x4.splat (f32.const 8.3334519073e-3))))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (f32x4.splat (f32.const 4.1665795894e-2))))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (f32x4.splat (f32.const 1.6666665459e-1))))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (f32x4.splat (f32.const 5.0000001201e-1))))
      (local.set $q (f32x4.add (f32x4.add (f32x4.mul (local.get $q) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r))
                               (f32x4.splat (f32.const 1))))
      (local.set $x (f32x4.mul (local.get $q)
        (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (i32.const 127))) (i32.const 23))))
      ;; masked to the visible lanes
      (local.set $jv (i32x4.add (i32x4.splat (local.get $j)) (v128.const i32x4 0 1 2 3)))
      (local.set $x (v128.and (local.get $x) (v128.and (i32x4.ge_s (local.get $jv) (local.get $lov)) (i32x4.le_s (local.get $jv) (local.get $tv)))))
      (v128.store (local.get $a) (local.get $x))
      (local.set $sum (f32x4.add (local.get $sum) (local.get $x)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $e_loop)))
    (call $hsum (local.get $sum)))

  ;; Causal multi-head attention over qkv [n·T, 3d] ([q | k | v], heads of hd columns):
  ;; probs [n, H, T, Tp] (Tp = T rounded up to 4; zeros where masked) and the heads'
  ;; outputs, concatenated, into attn [n·T, d]. Row i's position t sees keys j in
  ;; [start_i, t] (start from the i32 array at pstarts), a padding position t < start_i
  ;; only itself. Per (row, head) the keys are first transposed into pscratch as Kᵀ
  ;; [hd, Tp] (room for hd·Tp floats), so the scores come four keys at a time: s[j..j+3]
  ;; = scale·Σ_c q_t[c]·Kᵀ[c, j..j+3], over the blocks of four that hold visible keys.
  (func (export "attention")
    (param $pqkv i32) (param $pprobs i32) (param $pattn i32) (param $pscratch i32)
    (param $n i32) (param $T i32) (param $H i32) (param $hd i32) (param $pstarts i32) (param $scale f32)
    (local $i i32) (local $h i32) (local $t i32) (local $j i32) (local $lo i32) (local $start i32)
    (local $Tp i32) (local $tb i32) (local $ld i32) (local $ld3 i32) (local $d i32) (local $hb i32)
    (local $qbase i32) (local $pbase i32) (local $obase i32) (local $qt i32) (local $prow i32)
    (local $jlo i32) (local $jhi i32) (local $p i32) (local $sv v128) (local $inv v128)
    (local.set $Tp (i32.and (i32.add (local.get $T) (i32.const 3)) (i32.const -4)))
    (local.set $tb (i32.shl (local.get $Tp) (i32.const 2)))
    (local.set $d (i32.mul (local.get $H) (local.get $hd)))
    (local.set $ld (i32.shl (local.get $d) (i32.const 2)))
    (local.set $ld3 (i32.mul (local.get $ld) (i32.const 3)))
    (local.set $hb (i32.shl (local.get $hd) (i32.const 2)))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (call $zero_cols (local.get $pscratch) (local.get $hd) (local.get $T) (local.get $Tp))
    (block $i_done (loop $i_loop
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $start (i32.load (i32.add (local.get $pstarts) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $h (i32.const 0))
      (block $h_done (loop $h_loop
        (br_if $h_done (i32.ge_u (local.get $h) (local.get $H)))
        (local.set $qbase (i32.add (local.get $pqkv) (i32.add (i32.mul (i32.mul (local.get $i) (local.get $T)) (local.get $ld3)) (i32.mul (local.get $h) (local.get $hb)))))
        (local.set $obase (i32.add (local.get $pattn) (i32.add (i32.mul (i32.mul (local.get $i) (local.get $T)) (local.get $ld)) (i32.mul (local.get $h) (local.get $hb)))))
        (local.set $pbase (i32.add (local.get $pprobs) (i32.shl (i32.mul (i32.add (i32.mul (local.get $i) (local.get $H)) (local.get $h)) (i32.mul (local.get $T) (local.get $Tp))) (i32.const 2))))
        (call $transpose (i32.add (local.get $qbase) (local.get $ld)) (local.get $ld3) (local.get $T) (local.get $hd) (local.get $pscratch) (local.get $Tp))
        (local.set $t (i32.const 0))
        (block $t_done (loop $t_loop
          (br_if $t_done (i32.ge_u (local.get $t) (local.get $T)))
          (local.set $lo (select (local.get $start) (local.get $t) (i32.ge_u (local.get $t) (local.get $start))))
          (local.set $qt (i32.add (local.get $qbase) (i32.mul (local.get $t) (local.get $ld3))))
          (local.set $prow (i32.add (local.get $pbase) (i32.mul (local.get $t) (local.get $tb))))
          ;; the blocks of four keys [jlo, jhi) that hold the visible ones; lanes outside [lo, t] are masked
          (local.set $jlo (i32.and (local.get $lo) (i32.const -4)))
          (local.set $jhi (i32.and (i32.add (local.get $t) (i32.const 4)) (i32.const -4)))
          ;; scores, then their softmax numerators (0 on the masked lanes) and Σ
          (call $scores (local.get $qt) (local.get $pscratch) (local.get $tb) (local.get $hb) (local.get $jlo) (local.get $jhi) (local.get $prow) (local.get $sv))
          (local.set $inv (f32x4.splat (f32.div (f32.const 1)
            (call $softmax_row (local.get $prow) (local.get $jlo) (local.get $jhi) (local.get $lo) (local.get $t)))))
          ;; normalise; the blocks without visible keys become 0
          (local.set $j (i32.const 0))
          (block $n_done (loop $n_loop
            (br_if $n_done (i32.ge_u (local.get $j) (local.get $Tp)))
            (local.set $p (i32.add (local.get $prow) (i32.shl (local.get $j) (i32.const 2))))
            (v128.store (local.get $p)
              (if (result v128) (i32.and (i32.ge_u (local.get $j) (local.get $jlo)) (i32.lt_u (local.get $j) (local.get $jhi)))
                (then (f32x4.mul (local.get $inv) (v128.load (local.get $p))))
                (else (v128.const i32x4 0 0 0 0))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $n_loop)))
          ;; o_t = Σ_j p_j·v_j over the visible j
          (call $wsum (i32.add (local.get $prow) (i32.shl (local.get $lo) (i32.const 2))) (i32.const 4)
            (i32.add (i32.add (local.get $qbase) (i32.shl (local.get $ld) (i32.const 1))) (i32.mul (local.get $lo) (local.get $ld3)))
            (local.get $ld3) (i32.add (i32.sub (local.get $t) (local.get $lo)) (i32.const 1)) (local.get $hb)
            (i32.add (local.get $obase) (i32.mul (local.get $t) (local.get $ld))))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $t_loop)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $h_loop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $i_loop))))

  ;; Backward of attention: given dattn [n·T, d], writes dqkv [n·T, 3d] (every entry of
  ;; its first n·T rows). Per (row, head), with P = probs:
  ;;   dP_tj = dO_t·v_j,  dS_tj = scale·P_tj(dP_tj − Σ_j P_tj dP_tj),
  ;;   dQ_t = Σ_j dS_tj k_j,  dK_j = Σ_t dS_tj q_t,  dV_j = Σ_t P_tj dO_t.
  ;; The first pass (per query t) keeps dS [T, Tp] in pscratch and writes dQ; the second
  ;; (per key j) sums dK_j and dV_j down the columns of dS and P. dP comes four keys at a
  ;; time from Vᵀ [hd, Tp], transposed per (row, head) into pscratch after dS. pscratch:
  ;; room for (T + hd)·Tp floats.
  (func (export "attention_back")
    (param $pqkv i32) (param $pprobs i32) (param $pdattn i32) (param $pdqkv i32) (param $pscratch i32)
    (param $n i32) (param $T i32) (param $H i32) (param $hd i32) (param $pstarts i32) (param $scale f32)
    (local $i i32) (local $h i32) (local $t i32) (local $j i32) (local $lo i32) (local $start i32)
    (local $Tp i32) (local $tb i32) (local $ld i32) (local $ld3 i32) (local $d i32) (local $hb i32)
    (local $qbase i32) (local $dbase i32) (local $pbase i32) (local $obase i32) (local $pvt i32)
    (local $qt i32) (local $dot_t i32) (local $prow i32) (local $srow i32) (local $jlo i32) (local $jhi i32)
    (local $sv v128) (local $dotv v128) (local $dot v128) (local $w i32)
    (local.set $Tp (i32.and (i32.add (local.get $T) (i32.const 3)) (i32.const -4)))
    (local.set $tb (i32.shl (local.get $Tp) (i32.const 2)))
    (local.set $d (i32.mul (local.get $H) (local.get $hd)))
    (local.set $ld (i32.shl (local.get $d) (i32.const 2)))
    (local.set $ld3 (i32.mul (local.get $ld) (i32.const 3)))
    (local.set $hb (i32.shl (local.get $hd) (i32.const 2)))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (local.set $pvt (i32.add (local.get $pscratch) (i32.mul (local.get $T) (local.get $tb))))
    (call $zero_cols (local.get $pvt) (local.get $hd) (local.get $T) (local.get $Tp))
    (block $i_done (loop $i_loop
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $start (i32.load (i32.add (local.get $pstarts) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $h (i32.const 0))
      (block $h_done (loop $h_loop
        (br_if $h_done (i32.ge_u (local.get $h) (local.get $H)))
        (local.set $qbase (i32.add (local.get $pqkv) (i32.add (i32.mul (i32.mul (local.get $i) (local.get $T)) (local.get $ld3)) (i32.mul (local.get $h) (local.get $hb)))))
        (local.set $dbase (i32.add (local.get $pdqkv) (i32.sub (local.get $qbase) (local.get $pqkv))))
        (local.set $obase (i32.add (local.get $pdattn) (i32.add (i32.mul (i32.mul (local.get $i) (local.get $T)) (local.get $ld)) (i32.mul (local.get $h) (local.get $hb)))))
        (local.set $pbase (i32.add (local.get $pprobs) (i32.shl (i32.mul (i32.add (i32.mul (local.get $i) (local.get $H)) (local.get $h)) (i32.mul (local.get $T) (local.get $Tp))) (i32.const 2))))
        (call $transpose (i32.add (local.get $qbase) (i32.shl (local.get $ld) (i32.const 1))) (local.get $ld3) (local.get $T) (local.get $hd) (local.get $pvt) (local.get $Tp))
        ;; pass 1, per query t: dS row into scratch, dQ_t
        (local.set $t (i32.const 0))
        (block $t_done (loop $t_loop
          (br_if $t_done (i32.ge_u (local.get $t) (local.get $T)))
          (local.set $lo (select (local.get $start) (local.get $t) (i32.ge_u (local.get $t) (local.get $start))))
          (local.set $qt (i32.add (local.get $qbase) (i32.mul (local.get $t) (local.get $ld3))))
          (local.set $dot_t (i32.add (local.get $obase) (i32.mul (local.get $t) (local.get $ld))))
          (local.set $prow (i32.add (local.get $pbase) (i32.mul (local.get $t) (local.get $tb))))
          (local.set $srow (i32.add (local.get $pscratch) (i32.mul (local.get $t) (local.get $tb))))
          (local.set $jlo (i32.and (local.get $lo) (i32.const -4)))
          (local.set $jhi (i32.and (i32.add (local.get $t) (i32.const 4)) (i32.const -4)))
          ;; dP over the blocks of four keys [jlo, jhi) holding the visible ones, and Σ_j P_tj dP_tj
          ;; (P is 0 on the masked lanes, whose dP are finite: real values or Vᵀ's zero columns)
          (local.set $dotv (v128.const i32x4 0 0 0 0))
          (local.set $j (local.get $jlo))
          (call $scores (local.get $dot_t) (local.get $pvt) (local.get $tb) (local.get $hb) (local.get $jlo) (local.get $jhi) (local.get $srow) (f32x4.splat (f32.const 1)))
          (block $j1 (loop $l1
            (br_if $j1 (i32.ge_u (local.get $j) (local.get $jhi)))
            (local.set $dotv (f32x4.add (local.get $dotv) (f32x4.mul (v128.load (i32.add (local.get $prow) (i32.shl (local.get $j) (i32.const 2))))
              (v128.load (i32.add (local.get $srow) (i32.shl (local.get $j) (i32.const 2)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $l1)))
          ;; dS = scale·P·(dP − Σ P dP) on those blocks (0 on the masked lanes), 0 on the others
          (local.set $dot (f32x4.splat (call $hsum (local.get $dotv))))
          (local.set $j (i32.const 0))
          (block $j2 (loop $l2
            (br_if $j2 (i32.ge_u (local.get $j) (local.get $Tp)))
            (local.set $w (i32.shl (local.get $j) (i32.const 2)))
            (v128.store (i32.add (local.get $srow) (local.get $w))
              (if (result v128) (i32.and (i32.ge_u (local.get $j) (local.get $jlo)) (i32.lt_u (local.get $j) (local.get $jhi)))
                (then
                  (f32x4.mul (f32x4.mul (local.get $sv) (v128.load (i32.add (local.get $prow) (local.get $w))))
                    (f32x4.sub (v128.load (i32.add (local.get $srow) (local.get $w))) (local.get $dot))))
                (else (v128.const i32x4 0 0 0 0))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $l2)))
          ;; dQ_t = Σ_j dS_tj k_j over the visible j
          (call $wsum (i32.add (local.get $srow) (i32.shl (local.get $lo) (i32.const 2))) (i32.const 4)
            (i32.add (i32.add (local.get $qbase) (local.get $ld)) (i32.mul (local.get $lo) (local.get $ld3)))
            (local.get $ld3) (i32.add (i32.sub (local.get $t) (local.get $lo)) (i32.const 1)) (local.get $hb)
            (i32.add (local.get $dbase) (i32.mul (local.get $t) (local.get $ld3))))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $t_loop)))
        ;; pass 2, per key j: dK_j = Σ_{t≥j} dS_tj q_t, dV_j = Σ_{t≥j} P_tj dO_t
        ;; (entries a query does not see are 0 in both P and dS)
        (local.set $j (i32.const 0))
        (block $jj_done (loop $jj_loop
          (br_if $jj_done (i32.ge_u (local.get $j) (local.get $T)))
          (local.set $w (i32.shl (i32.add (i32.mul (local.get $j) (local.get $Tp)) (local.get $j)) (i32.const 2)))
          (call $wsum (i32.add (local.get $pscratch) (local.get $w)) (local.get $tb)
            (i32.add (local.get $qbase) (i32.mul (local.get $j) (local.get $ld3))) (local.get $ld3)
            (i32.sub (local.get $T) (local.get $j)) (local.get $hb)
            (i32.add (i32.add (local.get $dbase) (local.get $ld)) (i32.mul (local.get $j) (local.get $ld3))))
          (call $wsum (i32.add (local.get $pbase) (local.get $w)) (local.get $tb)
            (i32.add (local.get $obase) (i32.mul (local.get $j) (local.get $ld))) (local.get $ld)
            (i32.sub (local.get $T) (local.get $j)) (local.get $hb)
            (i32.add (i32.add (local.get $dbase) (i32.shl (local.get $ld) (i32.const 1))) (i32.mul (local.get $j) (local.get $ld3))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jj_loop)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $h_loop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $i_loop))))

  ;; One decoding position t for n rows: stores each row's k and v (from qkv [n, 3d]) in
  ;; the cache and writes the attention over the cached keys the position may see into
  ;; attn [n, d]. The cache holds per (row, head) the keys transposed, Kᵀ [hd, Cp], and
  ;; the values [Cp, hd] (Cp = C rounded up to 4; keys, values: n·H·hd·Cp floats each), so
  ;; the scores come four keys at a time. pscratch: room for Cp floats.
  (func (export "attention_step")
    (param $pqkv i32) (param $pkeys i32) (param $pvalues i32) (param $pattn i32) (param $pscratch i32)
    (param $n i32) (param $H i32) (param $hd i32) (param $C i32) (param $t i32) (param $pstarts i32) (param $scale f32)
    (local $i i32) (local $h i32) (local $j i32) (local $lo i32) (local $start i32) (local $d i32) (local $hb i32)
    (local $q i32) (local $kbase i32) (local $vbase i32) (local $c i32) (local $Cp i32) (local $cb i32) (local $kp i32)
    (local $sv v128) (local $v v128) (local $inv v128) (local $vp i32) (local $jlo i32) (local $end i32)
    (local.set $d (i32.mul (local.get $H) (local.get $hd)))
    (local.set $hb (i32.shl (local.get $hd) (i32.const 2)))
    (local.set $Cp (i32.and (i32.add (local.get $C) (i32.const 3)) (i32.const -4)))
    (local.set $cb (i32.shl (local.get $Cp) (i32.const 2)))
    (local.set $end (i32.and (i32.add (local.get $t) (i32.const 4)) (i32.const -4)))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (block $i_done (loop $i_loop
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $start (i32.load (i32.add (local.get $pstarts) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $lo (select (local.get $start) (local.get $t) (i32.ge_u (local.get $t) (local.get $start))))
      (local.set $jlo (i32.and (local.get $lo) (i32.const -4)))
      (local.set $h (i32.const 0))
      (block $h_done (loop $h_loop
        (br_if $h_done (i32.ge_u (local.get $h) (local.get $H)))
        (local.set $q (i32.add (local.get $pqkv) (i32.shl (i32.add (i32.mul (i32.mul (local.get $i) (local.get $d)) (i32.const 3)) (i32.mul (local.get $h) (local.get $hd))) (i32.const 2))))
        (local.set $kbase (i32.shl (i32.mul (i32.mul (i32.add (i32.mul (local.get $i) (local.get $H)) (local.get $h)) (local.get $Cp)) (local.get $hd)) (i32.const 2)))
        (local.set $vbase (i32.add (local.get $pvalues) (local.get $kbase)))
        (local.set $kbase (i32.add (local.get $pkeys) (local.get $kbase)))
        ;; cache column t of Kᵀ and row t of V ← this position's k and v
        (local.set $kp (i32.add (local.get $kbase) (i32.shl (local.get $t) (i32.const 2))))
        (local.set $c (i32.const 0))
        (block $w_done (loop $w_loop
          (br_if $w_done (i32.ge_u (local.get $c) (local.get $hb)))
          (local.set $v (v128.load (i32.add (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 2))) (local.get $c))))
          (f32.store (local.get $kp) (f32x4.extract_lane 0 (local.get $v)))
          (f32.store (i32.add (local.get $kp) (local.get $cb)) (f32x4.extract_lane 1 (local.get $v)))
          (f32.store (i32.add (local.get $kp) (i32.shl (local.get $cb) (i32.const 1))) (f32x4.extract_lane 2 (local.get $v)))
          (f32.store (i32.add (local.get $kp) (i32.mul (local.get $cb) (i32.const 3))) (f32x4.extract_lane 3 (local.get $v)))
          (local.set $kp (i32.add (local.get $kp) (i32.shl (local.get $cb) (i32.const 2))))
          (v128.store (i32.add (i32.add (local.get $vbase) (i32.mul (local.get $t) (local.get $hb))) (local.get $c))
            (v128.load (i32.add (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3))) (local.get $c))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $w_loop)))
        ;; scores over the blocks of four keys [jlo, end) holding the visible ones (the other
        ;; lanes may hold anything), then their softmax numerators over [lo, t] and Σ
        (call $scores (local.get $q) (local.get $kbase) (local.get $cb) (local.get $hb) (local.get $jlo) (local.get $end) (local.get $pscratch) (local.get $sv))
        (local.set $inv (f32x4.splat (f32.div (f32.const 1)
          (call $softmax_row (local.get $pscratch) (local.get $jlo) (local.get $end) (local.get $lo) (local.get $t)))))
        ;; out = Σ_j p_j v_j (p_j = e_j / Σ e)
        (local.set $vp (i32.add (local.get $pattn) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $d)) (i32.mul (local.get $h) (local.get $hd))) (i32.const 2))))
        (call $wsum (i32.add (local.get $pscratch) (i32.shl (local.get $lo) (i32.const 2))) (i32.const 4)
          (i32.add (local.get $vbase) (i32.mul (local.get $lo) (local.get $hb))) (local.get $hb)
          (i32.add (i32.sub (local.get $t) (local.get $lo)) (i32.const 1)) (local.get $hb) (local.get $vp))
        (local.set $c (i32.const 0))
        (block $c_done (loop $c_loop
          (br_if $c_done (i32.ge_u (local.get $c) (local.get $hb)))
          (v128.store (i32.add (local.get $vp) (local.get $c)) (f32x4.mul (v128.load (i32.add (local.get $vp) (local.get $c))) (local.get $inv)))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $c_loop)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $h_loop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $i_loop))))

  ;; Σ x[i]² over n floats (n % 4 = 0), accumulated in float64 (the global gradient norm).
  (func (export "sumsq") (param $px i32) (param $n i32) (result f64)
    (local $end i32) (local $x v128) (local $lo v128) (local $hi v128) (local $acc v128)
    (local.set $end (i32.add (local.get $px) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
        (local.set $x (v128.load (local.get $px)))
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $x)))
        (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x))))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.add (f64x2.mul (local.get $lo) (local.get $lo)) (f64x2.mul (local.get $hi) (local.get $hi)))))
        (local.set $px (i32.add (local.get $px) (i32.const 16)))
        (br $next)))
    (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))

  ;; One Adam step over n floats (n % 4 = 0), in float32 as torch's (c1 = 1 − β₁ and
  ;; c2 = 1 − β₂ come from the caller in float64: 1 − f32(0.999) is 1.3e-5 off):
  ;;   g ← g·gscale,  m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
  ;;   w ← w − step·m / (√v / rbc2 + eps)   (step = lr/(1−β₁ᵗ), rbc2 = √(1−β₂ᵗ)).
  (func (export "adam")
    (param $pw i32) (param $pg i32) (param $pm i32) (param $pv i32) (param $n i32)
    (param $gscale f32) (param $b1 f32) (param $b2 f32) (param $c1 f32) (param $c2 f32) (param $eps f32) (param $step f32) (param $rbc2 f32)
    (local $end i32) (local $g v128) (local $m v128) (local $v v128)
    (local $vb1 v128) (local $vb2 v128) (local $vc1 v128) (local $vc2 v128) (local $vs v128) (local $ve v128) (local $vst v128) (local $vr v128)
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vc1 (f32x4.splat (local.get $c1)))
    (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $vs (f32x4.splat (local.get $gscale)))
    (local.set $ve (f32x4.splat (local.get $eps)))
    (local.set $vst (f32x4.splat (local.get $step)))
    (local.set $vr (f32x4.splat (local.get $rbc2)))
    (local.set $end (i32.add (local.get $pw) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $pw) (local.get $end)))
        (local.set $g (f32x4.mul (v128.load (local.get $pg)) (local.get $vs)))
        (local.set $m (f32x4.add (f32x4.mul (local.get $vb1) (v128.load (local.get $pm))) (f32x4.mul (local.get $vc1) (local.get $g))))
        (local.set $v (f32x4.add (f32x4.mul (local.get $vb2) (v128.load (local.get $pv))) (f32x4.mul (local.get $vc2) (f32x4.mul (local.get $g) (local.get $g)))))
        (v128.store (local.get $pm) (local.get $m))
        (v128.store (local.get $pv) (local.get $v))
        (v128.store (local.get $pw) (f32x4.sub (v128.load (local.get $pw))
          (f32x4.div (f32x4.mul (local.get $vst) (local.get $m)) (f32x4.add (f32x4.div (f32x4.sqrt (local.get $v)) (local.get $vr)) (local.get $ve)))))
        (local.set $pw (i32.add (local.get $pw) (i32.const 16)))
        (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
        (local.set $pm (i32.add (local.get $pm) (i32.const 16)))
        (local.set $pv (i32.add (local.get $pv) (i32.const 16)))
        (br $next))))
)
