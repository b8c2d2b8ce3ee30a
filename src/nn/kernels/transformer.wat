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

  ;; Four dot products at once, across columns: r[l] = Σ_{c<hd} x[c]·M[c][l] for the four
  ;; adjacent columns of a row-major M starting at m, its rows rb bytes apart (hb = 4·hd,
  ;; a multiple of 16). Two accumulators (even and odd c), added at the end.
  (func $dot4 (param $x i32) (param $m i32) (param $rb i32) (param $hb i32) (result v128)
    (local $end i32) (local $a v128) (local $b v128) (local $rb2 i32) (local $rb3 i32) (local $rb4 i32)
    (local.set $rb2 (i32.shl (local.get $rb) (i32.const 1)))
    (local.set $rb3 (i32.add (local.get $rb2) (local.get $rb)))
    (local.set $rb4 (i32.shl (local.get $rb) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (local.get $hb)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $a (f32x4.add (local.get $a) (f32x4.mul (v128.load32_splat (local.get $x)) (v128.load (local.get $m)))))
        (local.set $b (f32x4.add (local.get $b) (f32x4.mul (v128.load32_splat offset=4 (local.get $x)) (v128.load (i32.add (local.get $m) (local.get $rb))))))
        (local.set $a (f32x4.add (local.get $a) (f32x4.mul (v128.load32_splat offset=8 (local.get $x)) (v128.load (i32.add (local.get $m) (local.get $rb2))))))
        (local.set $b (f32x4.add (local.get $b) (f32x4.mul (v128.load32_splat offset=12 (local.get $x)) (v128.load (i32.add (local.get $m) (local.get $rb3))))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $m (i32.add (local.get $m) (local.get $rb4)))
        (br $next)))
    (f32x4.add (local.get $a) (local.get $b)))

  ;; Transposes T rows of hd floats (row j at src + j·stride bytes) into dst [hd, Tp]:
  ;; dst[c·Tp + j] = row_j[c]. Columns [T, Tp) are left alone (see $zero_cols).
  (func $transpose (param $src i32) (param $stride i32) (param $T i32) (param $hd i32) (param $dst i32) (param $Tp i32)
    (local $j i32) (local $c i32) (local $hb i32) (local $tb i32) (local $tb4 i32) (local $p i32) (local $v v128)
    (local.set $hb (i32.shl (local.get $hd) (i32.const 2)))
    (local.set $tb (i32.shl (local.get $Tp) (i32.const 2)))
    (local.set $tb4 (i32.shl (local.get $tb) (i32.const 2)))
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

  ;; out[c] = Σ_{j<m} w[j]·x_j[c] for c < hd (x_j at x + j·stride bytes; hb = 4·hd, a
  ;; multiple of 16; m ≥ 1). Each lane sums over j in order; two column chunks per sweep
  ;; share w[j]'s broadcast and give two independent chains.
  (func $wsum (param $w i32) (param $x i32) (param $stride i32) (param $m i32) (param $hb i32) (param $out i32)
    (local $c i32) (local $j i32) (local $a v128) (local $b v128) (local $wj v128) (local $wp i32) (local $xp i32)
    (block $c_done (loop $c_loop
      (br_if $c_done (i32.ge_u (local.get $c) (local.get $hb)))
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $b (v128.const i32x4 0 0 0 0))
      (local.set $wp (local.get $w))
      (local.set $xp (i32.add (local.get $x) (local.get $c)))
      (local.set $j (local.get $m))
      (if (i32.lt_u (i32.add (local.get $c) (i32.const 16)) (local.get $hb))
        (then
          (loop $pair
            (local.set $wj (v128.load32_splat (local.get $wp)))
            (local.set $a (f32x4.add (local.get $a) (f32x4.mul (local.get $wj) (v128.load (local.get $xp)))))
            (local.set $b (f32x4.add (local.get $b) (f32x4.mul (local.get $wj) (v128.load offset=16 (local.get $xp)))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 4)))
            (local.set $xp (i32.add (local.get $xp) (local.get $stride)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $pair (local.get $j)))
          (v128.store (i32.add (local.get $out) (local.get $c)) (local.get $a))
          (v128.store offset=16 (i32.add (local.get $out) (local.get $c)) (local.get $b))
          (local.set $c (i32.add (local.get $c) (i32.const 32))))
        (else
          (loop $single
            (local.set $a (f32x4.add (local.get $a) (f32x4.mul (v128.load32_splat (local.get $wp)) (v128.load (local.get $xp)))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 4)))
            (local.set $xp (i32.add (local.get $xp) (local.get $stride)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $single (local.get $j)))
          (v128.store (i32.add (local.get $out) (local.get $c)) (local.get $a))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))))
      (br $c_loop))))

  ;; Lanes of the block of four keys from j that lie in [lo, t] (lov, tv: splats of lo and t).
  (func $visible (param $j i32) (param $lov v128) (param $tv v128) (result v128)
    (local $jv v128)
    (local.set $jv (i32x4.add (i32x4.splat (local.get $j)) (v128.const i32x4 0 1 2 3)))
    (v128.and (i32x4.ge_s (local.get $jv) (local.get $lov)) (i32x4.le_s (local.get $jv) (local.get $tv))))

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
    (local $jlo i32) (local $jhi i32) (local $p i32) (local $lov v128) (local $tv v128) (local $sv v128)
    (local $s v128) (local $mx v128) (local $max v128) (local $sum v128) (local $e v128) (local $mask v128) (local $inv v128)
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
          (local.set $lov (i32x4.splat (local.get $lo)))
          (local.set $tv (i32x4.splat (local.get $t)))
          ;; scores, and their max over the visible lanes
          (local.set $mx (f32x4.splat (f32.const -inf)))
          (local.set $j (local.get $jlo))
          (block $j_done (loop $j_loop
            (br_if $j_done (i32.ge_u (local.get $j) (local.get $jhi)))
            (local.set $s (f32x4.mul (local.get $sv)
              (call $dot4 (local.get $qt) (i32.add (local.get $pscratch) (i32.shl (local.get $j) (i32.const 2))) (local.get $tb) (local.get $hb))))
            (v128.store (i32.add (local.get $prow) (i32.shl (local.get $j) (i32.const 2))) (local.get $s))
            (local.set $mask (call $visible (local.get $j) (local.get $lov) (local.get $tv)))
            (local.set $mx (f32x4.max (local.get $mx) (v128.bitselect (local.get $s) (f32x4.splat (f32.const -inf)) (local.get $mask))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $j_loop)))
          ;; exp(s − max) on the visible lanes, 0 elsewhere
          (local.set $max (f32x4.splat (call $hmax (local.get $mx))))
          (local.set $sum (v128.const i32x4 0 0 0 0))
          (local.set $j (local.get $jlo))
          (block $e_done (loop $e_loop
            (br_if $e_done (i32.ge_u (local.get $j) (local.get $jhi)))
            (local.set $p (i32.add (local.get $prow) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $e (v128.and (call $visible (local.get $j) (local.get $lov) (local.get $tv))
              (call $exp4 (f32x4.sub (v128.load (local.get $p)) (local.get $max)))))
            (v128.store (local.get $p) (local.get $e))
            (local.set $sum (f32x4.add (local.get $sum) (local.get $e)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $e_loop)))
          ;; normalise; the blocks without visible keys become 0
          (local.set $inv (f32x4.splat (f32.div (f32.const 1) (call $hsum (local.get $sum)))))
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
          (call $wsum (i32.add (local.get $prow) (i32.shl (local.get $lo) (i32.const 2)))
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
  ;; (per key j) sums dK_j and dV_j in registers. dP comes four keys at a time from Vᵀ
  ;; [hd, Tp], transposed per (row, head) into pscratch after dS. pscratch: room for
  ;; (T + hd)·Tp floats.
  (func (export "attention_back")
    (param $pqkv i32) (param $pprobs i32) (param $pdattn i32) (param $pdqkv i32) (param $pscratch i32)
    (param $n i32) (param $T i32) (param $H i32) (param $hd i32) (param $pstarts i32) (param $scale f32)
    (local $i i32) (local $h i32) (local $t i32) (local $j i32) (local $lo i32) (local $start i32)
    (local $Tp i32) (local $tb i32) (local $ld i32) (local $ld3 i32) (local $d i32) (local $hb i32)
    (local $qbase i32) (local $dbase i32) (local $pbase i32) (local $obase i32) (local $pvt i32)
    (local $qt i32) (local $dot_t i32) (local $prow i32) (local $srow i32) (local $jlo i32) (local $jhi i32)
    (local $sv v128) (local $dp v128) (local $dotv v128) (local $dot v128)
    (local $c i32) (local $acc v128) (local $acc2 v128) (local $kp i32) (local $op i32) (local $w i32)
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
          (block $j1 (loop $l1
            (br_if $j1 (i32.ge_u (local.get $j) (local.get $jhi)))
            (local.set $dp (call $dot4 (local.get $dot_t) (i32.add (local.get $pvt) (i32.shl (local.get $j) (i32.const 2))) (local.get $tb) (local.get $hb)))
            (v128.store (i32.add (local.get $srow) (i32.shl (local.get $j) (i32.const 2))) (local.get $dp))
            (local.set $dotv (f32x4.add (local.get $dotv) (f32x4.mul (v128.load (i32.add (local.get $prow) (i32.shl (local.get $j) (i32.const 2)))) (local.get $dp))))
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
          (call $wsum (i32.add (local.get $srow) (i32.shl (local.get $lo) (i32.const 2)))
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
          (local.set $c (i32.const 0))
          (block $c2_done (loop $c2_loop
            (br_if $c2_done (i32.ge_u (local.get $c) (local.get $hb)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $acc2 (v128.const i32x4 0 0 0 0))
            (local.set $kp (i32.add (i32.add (local.get $qbase) (i32.mul (local.get $j) (local.get $ld3))) (local.get $c)))
            (local.set $op (i32.add (i32.add (local.get $obase) (i32.mul (local.get $j) (local.get $ld))) (local.get $c)))
            (local.set $w (i32.shl (i32.add (i32.mul (local.get $j) (local.get $Tp)) (local.get $j)) (i32.const 2)))
            (local.set $t (local.get $j))
            (block $tt_done (loop $tt_loop
              (br_if $tt_done (i32.ge_u (local.get $t) (local.get $T)))
              (local.set $acc (f32x4.add (local.get $acc)
                (f32x4.mul (v128.load32_splat (i32.add (local.get $pscratch) (local.get $w))) (v128.load (local.get $kp)))))
              (local.set $acc2 (f32x4.add (local.get $acc2)
                (f32x4.mul (v128.load32_splat (i32.add (local.get $pbase) (local.get $w))) (v128.load (local.get $op)))))
              (local.set $kp (i32.add (local.get $kp) (local.get $ld3)))
              (local.set $op (i32.add (local.get $op) (local.get $ld)))
              (local.set $w (i32.add (local.get $w) (local.get $tb)))
              (local.set $t (i32.add (local.get $t) (i32.const 1)))
              (br $tt_loop)))
            (v128.store (i32.add (i32.add (i32.add (local.get $dbase) (local.get $ld)) (i32.mul (local.get $j) (local.get $ld3))) (local.get $c)) (local.get $acc))
            (v128.store (i32.add (i32.add (i32.add (local.get $dbase) (i32.shl (local.get $ld) (i32.const 1))) (i32.mul (local.get $j) (local.get $ld3))) (local.get $c)) (local.get $acc2))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $c2_loop)))
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
    (local $lov v128) (local $tv v128) (local $sv v128) (local $s v128) (local $mx v128) (local $max v128) (local $v v128)
    (local $sum v128) (local $e v128) (local $inv v128) (local $acc v128) (local $vp i32) (local $jlo i32)
    (local $end i32)
    (local.set $d (i32.mul (local.get $H) (local.get $hd)))
    (local.set $hb (i32.shl (local.get $hd) (i32.const 2)))
    (local.set $Cp (i32.and (i32.add (local.get $C) (i32.const 3)) (i32.const -4)))
    (local.set $cb (i32.shl (local.get $Cp) (i32.const 2)))
    (local.set $end (i32.and (i32.add (local.get $t) (i32.const 4)) (i32.const -4)))
    (local.set $tv (i32x4.splat (local.get $t)))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (block $i_done (loop $i_loop
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $start (i32.load (i32.add (local.get $pstarts) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $lo (select (local.get $start) (local.get $t) (i32.ge_u (local.get $t) (local.get $start))))
      (local.set $jlo (i32.and (local.get $lo) (i32.const -4)))
      (local.set $lov (i32x4.splat (local.get $lo)))
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
        ;; scores over the blocks of four keys [jlo, end) holding the visible ones, and their
        ;; max over the visible lanes (the others may hold anything: they are masked)
        (local.set $mx (f32x4.splat (f32.const -inf)))
        (local.set $j (local.get $jlo))
        (block $j_done (loop $j_loop
          (br_if $j_done (i32.ge_u (local.get $j) (local.get $end)))
          (local.set $s (f32x4.mul (local.get $sv)
            (call $dot4 (local.get $q) (i32.add (local.get $kbase) (i32.shl (local.get $j) (i32.const 2))) (local.get $cb) (local.get $hb))))
          (v128.store (i32.add (local.get $pscratch) (i32.shl (local.get $j) (i32.const 2))) (local.get $s))
          (local.set $mx (f32x4.max (local.get $mx)
            (v128.bitselect (local.get $s) (f32x4.splat (f32.const -inf)) (call $visible (local.get $j) (local.get $lov) (local.get $tv)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $j_loop)))
        ;; softmax over [lo, t] (masked lanes become 0)
        (local.set $max (f32x4.splat (call $hmax (local.get $mx))))
        (local.set $sum (v128.const i32x4 0 0 0 0))
        (local.set $j (local.get $jlo))
        (block $e_done (loop $e_loop
          (br_if $e_done (i32.ge_u (local.get $j) (local.get $end)))
          (local.set $e (v128.and (call $visible (local.get $j) (local.get $lov) (local.get $tv))
            (call $exp4 (f32x4.sub (v128.load (i32.add (local.get $pscratch) (i32.shl (local.get $j) (i32.const 2)))) (local.get $max)))))
          (v128.store (i32.add (local.get $pscratch) (i32.shl (local.get $j) (i32.const 2))) (local.get $e))
          (local.set $sum (f32x4.add (local.get $sum) (local.get $e)))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $e_loop)))
        (local.set $inv (f32x4.splat (f32.div (f32.const 1) (call $hsum (local.get $sum)))))
        ;; out = Σ_j p_j v_j (p_j = e_j / Σ e)
        (local.set $c (i32.const 0))
        (block $c_done (loop $c_loop
          (br_if $c_done (i32.ge_u (local.get $c) (local.get $hb)))
          (local.set $acc (v128.const i32x4 0 0 0 0))
          (local.set $vp (i32.add (i32.add (local.get $vbase) (i32.mul (local.get $lo) (local.get $hb))) (local.get $c)))
          (local.set $j (local.get $lo))
          (block $v_done (loop $v_loop
            (br_if $v_done (i32.gt_u (local.get $j) (local.get $t)))
            (local.set $acc (f32x4.add (local.get $acc)
              (f32x4.mul (v128.load32_splat (i32.add (local.get $pscratch) (i32.shl (local.get $j) (i32.const 2)))) (v128.load (local.get $vp)))))
            (local.set $vp (i32.add (local.get $vp) (local.get $hb)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $v_loop)))
          (v128.store (i32.add (i32.add (local.get $pattn) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $d)) (i32.mul (local.get $h) (local.get $hd))) (i32.const 2))) (local.get $c))
            (f32x4.mul (local.get $acc) (local.get $inv)))
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
