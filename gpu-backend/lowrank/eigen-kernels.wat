;; The O(n³) loops of symmetric-eigen.ts's tred2/tql2 (float64, row-major n×n at byte offset $v). Each does
;; exactly the arithmetic of the JavaScript loop it replaces, element by element and in the same order (WebAssembly
;; never fuses a multiply-add), so the results are bitwise those of the JavaScript. Two lanes (f64x2) where the
;; operations are element-wise; sums stay sequential, two rows' sums interleaved where the rows are independent.
(module
  (memory (export "memory") 1)

  ;; tred2, for row i: e[k] += v[j,k]·d[j] over the upper triangle, g = e[j] + v[j,j]·d[j] + Σₖ v[j,k]·d[k] → e[j],
  ;; and v[i,j] = d[j], for j < i (the symmetric product with the Householder vector).
  (func (export "symv") (param $v i32) (param $n i32) (param $i i32) (param $d i32) (param $e i32)
    (local $j i32) (local $k i32) (local $row i32) (local $f f64) (local $fv v128) (local $g f64)
    (local $x v128) (local $p v128) (local $ek i32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $j) (local.get $i)))
        (local.set $row (i32.add (local.get $v) (i32.shl (i32.mul (local.get $j) (local.get $n)) (i32.const 3))))
        (local.set $f (f64.load (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $fv (f64x2.splat (local.get $f)))
        (f64.store
          (i32.add (local.get $v) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3)))
          (local.get $f))
        (local.set $g
          (f64.add
            (f64.load (i32.add (local.get $e) (i32.shl (local.get $j) (i32.const 3))))
            (f64.mul (f64.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 3)))) (local.get $f))))
        (local.set $k (i32.add (local.get $j) (i32.const 1)))
        (block $pairs_done
          (loop $pairs
            (br_if $pairs_done (i32.gt_s (i32.add (local.get $k) (i32.const 2)) (local.get $i)))
            (local.set $x (v128.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3)))))
            (local.set $ek (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 3))))
            (local.set $p (f64x2.mul (local.get $x) (v128.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $g (f64.add (local.get $g) (f64x2.extract_lane 0 (local.get $p))))
            (local.set $g (f64.add (local.get $g) (f64x2.extract_lane 1 (local.get $p))))
            (v128.store (local.get $ek) (f64x2.add (v128.load (local.get $ek)) (f64x2.mul (local.get $x) (local.get $fv))))
            (local.set $k (i32.add (local.get $k) (i32.const 2)))
            (br $pairs)))
        (if (i32.lt_s (local.get $k) (local.get $i))
          (then
            (local.set $ek (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 3))))
            (local.set $g
              (f64.add (local.get $g)
                (f64.mul
                  (f64.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3))))
                  (f64.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3)))))))
            (f64.store (local.get $ek)
              (f64.add (f64.load (local.get $ek))
                (f64.mul (f64.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3)))) (local.get $f))))))
        (f64.store (i32.add (local.get $e) (i32.shl (local.get $j) (i32.const 3))) (local.get $g))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rows))))

  ;; tred2, for row i: v[j,k] −= d[j]·e[k] + e[j]·d[k] for j ≤ k < i (the rank-2 update), then d[j] = v[j,i−1] and
  ;; v[j,i] = 0.
  (func (export "rank2") (param $v i32) (param $n i32) (param $i i32) (param $d i32) (param $e i32)
    (local $j i32) (local $k i32) (local $row i32) (local $f f64) (local $g f64) (local $fv v128) (local $gv v128)
    (local $a i32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $j) (local.get $i)))
        (local.set $row (i32.add (local.get $v) (i32.shl (i32.mul (local.get $j) (local.get $n)) (i32.const 3))))
        (local.set $f (f64.load (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $g (f64.load (i32.add (local.get $e) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $fv (f64x2.splat (local.get $f)))
        (local.set $gv (f64x2.splat (local.get $g)))
        (local.set $k (local.get $j))
        (block $pairs_done
          (loop $pairs
            (br_if $pairs_done (i32.gt_s (i32.add (local.get $k) (i32.const 2)) (local.get $i)))
            (local.set $a (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3))))
            (v128.store (local.get $a)
              (f64x2.sub (v128.load (local.get $a))
                (f64x2.add
                  (f64x2.mul (local.get $fv) (v128.load (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 3)))))
                  (f64x2.mul (local.get $gv) (v128.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3))))))))
            (local.set $k (i32.add (local.get $k) (i32.const 2)))
            (br $pairs)))
        (if (i32.lt_s (local.get $k) (local.get $i))
          (then
            (local.set $a (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3))))
            (f64.store (local.get $a)
              (f64.sub (f64.load (local.get $a))
                (f64.add
                  (f64.mul (local.get $f) (f64.load (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 3)))))
                  (f64.mul (local.get $g) (f64.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3))))))))))
        (f64.store (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 3)))
          (f64.load (i32.add (local.get $row) (i32.shl (i32.sub (local.get $i) (i32.const 1)) (i32.const 3)))))
        (f64.store (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 3))) (f64.const 0))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rows))))

  ;; One row's sum for accumulate: Σ_{k<len} u[k]·x[k] in order of k.
  (func $dot (param $u i32) (param $x i32) (param $len i32) (result f64)
    (local $k i32) (local $g f64) (local $p v128)
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.gt_s (i32.add (local.get $k) (i32.const 2)) (local.get $len)))
        (local.set $p
          (f64x2.mul
            (v128.load (i32.add (local.get $u) (i32.shl (local.get $k) (i32.const 3))))
            (v128.load (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 3))))))
        (local.set $g (f64.add (local.get $g) (f64x2.extract_lane 0 (local.get $p))))
        (local.set $g (f64.add (local.get $g) (f64x2.extract_lane 1 (local.get $p))))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_s (local.get $k) (local.get $len))
      (then
        (local.set $g
          (f64.add (local.get $g)
            (f64.mul
              (f64.load (i32.add (local.get $u) (i32.shl (local.get $k) (i32.const 3))))
              (f64.load (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 3)))))))))
    (local.get $g))

  ;; x[k] −= g·d[k] for k < len.
  (func $axpy (param $x i32) (param $g f64) (param $d i32) (param $len i32)
    (local $k i32) (local $gv v128) (local $a i32)
    (local.set $gv (f64x2.splat (local.get $g)))
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.gt_s (i32.add (local.get $k) (i32.const 2)) (local.get $len)))
        (local.set $a (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 3))))
        (v128.store (local.get $a)
          (f64x2.sub (v128.load (local.get $a))
            (f64x2.mul (local.get $gv) (v128.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_s (local.get $k) (local.get $len))
      (then
        (local.set $a (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 3))))
        (f64.store (local.get $a)
          (f64.sub (f64.load (local.get $a))
            (f64.mul (local.get $g) (f64.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3))))))))))

  ;; tred2's accumulation of the transformations, for step i: with u = row i+1 (columns ≤ i) and d[k] = u[k]/h,
  ;; row j −= (u·row j)·d over columns ≤ i, for j ≤ i. The rows are independent: two sums at a time.
  (func (export "accumulate") (param $v i32) (param $n i32) (param $i i32) (param $d i32)
    (local $j i32) (local $len i32) (local $u i32) (local $row i32) (local $stride i32)
    (local $k i32) (local $g0 f64) (local $g1 f64) (local $uk v128) (local $p v128) (local $q v128)
    (local.set $len (i32.add (local.get $i) (i32.const 1)))
    (local.set $stride (i32.shl (local.get $n) (i32.const 3)))
    (local.set $u (i32.add (local.get $v) (i32.mul (local.get $len) (local.get $stride))))
    (local.set $row (local.get $v))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.gt_s (i32.add (local.get $j) (i32.const 2)) (local.get $len)))
        (local.set $g0 (f64.const 0))
        (local.set $g1 (f64.const 0))
        (local.set $k (i32.const 0))
        (block $pairs_done
          (loop $pairs
            (br_if $pairs_done (i32.gt_s (i32.add (local.get $k) (i32.const 2)) (local.get $len)))
            (local.set $uk (v128.load (i32.add (local.get $u) (i32.shl (local.get $k) (i32.const 3)))))
            (local.set $p (f64x2.mul (local.get $uk) (v128.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $q
              (f64x2.mul (local.get $uk)
                (v128.load (i32.add (i32.add (local.get $row) (local.get $stride)) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $g0 (f64.add (local.get $g0) (f64x2.extract_lane 0 (local.get $p))))
            (local.set $g1 (f64.add (local.get $g1) (f64x2.extract_lane 0 (local.get $q))))
            (local.set $g0 (f64.add (local.get $g0) (f64x2.extract_lane 1 (local.get $p))))
            (local.set $g1 (f64.add (local.get $g1) (f64x2.extract_lane 1 (local.get $q))))
            (local.set $k (i32.add (local.get $k) (i32.const 2)))
            (br $pairs)))
        (if (i32.lt_s (local.get $k) (local.get $len))
          (then
            (local.set $g0
              (f64.add (local.get $g0)
                (f64.mul
                  (f64.load (i32.add (local.get $u) (i32.shl (local.get $k) (i32.const 3))))
                  (f64.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3)))))))
            (local.set $g1
              (f64.add (local.get $g1)
                (f64.mul
                  (f64.load (i32.add (local.get $u) (i32.shl (local.get $k) (i32.const 3))))
                  (f64.load (i32.add (i32.add (local.get $row) (local.get $stride)) (i32.shl (local.get $k) (i32.const 3)))))))))
        (call $axpy (local.get $row) (local.get $g0) (local.get $d) (local.get $len))
        (call $axpy (i32.add (local.get $row) (local.get $stride)) (local.get $g1) (local.get $d) (local.get $len))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $stride) (i32.const 1))))
        (local.set $j (i32.add (local.get $j) (i32.const 2)))
        (br $rows)))
    (if (i32.lt_s (local.get $j) (local.get $len))
      (then
        (call $axpy (local.get $row) (call $dot (local.get $u) (local.get $row) (local.get $len)) (local.get $d) (local.get $len)))))

  ;; tql2's plane rotations of one QL step, i = hi−1 down to lo, on rows i and i+1:
  ;; row i+1 ← s[i]·row i + c[i]·row i+1, row i ← c[i]·row i − s[i]·row i+1. A block of columns takes every rotation
  ;; in turn, with row i+1's new value carried in registers, so each rotation loads and stores one row, not two.
  (func (export "rotate") (param $v i32) (param $n i32) (param $lo i32) (param $hi i32) (param $c i32) (param $s i32)
    (local $k i32) (local $i i32) (local $stride i32) (local $p i32) (local $x i32)
    (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $cv v128) (local $sv v128) (local $hf f64) (local $xf f64) (local $cf f64) (local $sf f64)
    (local.set $stride (i32.shl (local.get $n) (i32.const 3)))
    (block $blocks_done
      (loop $blocks
        (br_if $blocks_done (i32.gt_s (i32.add (local.get $k) (i32.const 8)) (local.get $n)))
        (local.set $p
          (i32.add (local.get $v) (i32.shl (i32.add (i32.mul (local.get $hi) (local.get $n)) (local.get $k)) (i32.const 3))))
        (local.set $h0 (v128.load (local.get $p)))
        (local.set $h1 (v128.load offset=16 (local.get $p)))
        (local.set $h2 (v128.load offset=32 (local.get $p)))
        (local.set $h3 (v128.load offset=48 (local.get $p)))
        (local.set $i (i32.sub (local.get $hi) (i32.const 1)))
        (block $rot_done
          (loop $rot
            (br_if $rot_done (i32.lt_s (local.get $i) (local.get $lo)))
            (local.set $cv (v128.load64_splat (i32.add (local.get $c) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $sv (v128.load64_splat (i32.add (local.get $s) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $x (i32.sub (local.get $p) (local.get $stride)))
            (local.set $x0 (v128.load (local.get $x)))
            (local.set $x1 (v128.load offset=16 (local.get $x)))
            (local.set $x2 (v128.load offset=32 (local.get $x)))
            (local.set $x3 (v128.load offset=48 (local.get $x)))
            (v128.store (local.get $p)
              (f64x2.add (f64x2.mul (local.get $sv) (local.get $x0)) (f64x2.mul (local.get $cv) (local.get $h0))))
            (v128.store offset=16 (local.get $p)
              (f64x2.add (f64x2.mul (local.get $sv) (local.get $x1)) (f64x2.mul (local.get $cv) (local.get $h1))))
            (v128.store offset=32 (local.get $p)
              (f64x2.add (f64x2.mul (local.get $sv) (local.get $x2)) (f64x2.mul (local.get $cv) (local.get $h2))))
            (v128.store offset=48 (local.get $p)
              (f64x2.add (f64x2.mul (local.get $sv) (local.get $x3)) (f64x2.mul (local.get $cv) (local.get $h3))))
            (local.set $h0 (f64x2.sub (f64x2.mul (local.get $cv) (local.get $x0)) (f64x2.mul (local.get $sv) (local.get $h0))))
            (local.set $h1 (f64x2.sub (f64x2.mul (local.get $cv) (local.get $x1)) (f64x2.mul (local.get $sv) (local.get $h1))))
            (local.set $h2 (f64x2.sub (f64x2.mul (local.get $cv) (local.get $x2)) (f64x2.mul (local.get $sv) (local.get $h2))))
            (local.set $h3 (f64x2.sub (f64x2.mul (local.get $cv) (local.get $x3)) (f64x2.mul (local.get $sv) (local.get $h3))))
            (local.set $p (local.get $x))
            (local.set $i (i32.sub (local.get $i) (i32.const 1)))
            (br $rot)))
        (v128.store (local.get $p) (local.get $h0))
        (v128.store offset=16 (local.get $p) (local.get $h1))
        (v128.store offset=32 (local.get $p) (local.get $h2))
        (v128.store offset=48 (local.get $p) (local.get $h3))
        (local.set $k (i32.add (local.get $k) (i32.const 8)))
        (br $blocks)))
    ;; the last n mod 8 columns one at a time
    (block $cols_done
      (loop $cols
        (br_if $cols_done (i32.ge_s (local.get $k) (local.get $n)))
        (local.set $p
          (i32.add (local.get $v) (i32.shl (i32.add (i32.mul (local.get $hi) (local.get $n)) (local.get $k)) (i32.const 3))))
        (local.set $hf (f64.load (local.get $p)))
        (local.set $i (i32.sub (local.get $hi) (i32.const 1)))
        (block $rot_done
          (loop $rot
            (br_if $rot_done (i32.lt_s (local.get $i) (local.get $lo)))
            (local.set $cf (f64.load (i32.add (local.get $c) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $sf (f64.load (i32.add (local.get $s) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $x (i32.sub (local.get $p) (local.get $stride)))
            (local.set $xf (f64.load (local.get $x)))
            (f64.store (local.get $p) (f64.add (f64.mul (local.get $sf) (local.get $xf)) (f64.mul (local.get $cf) (local.get $hf))))
            (local.set $hf (f64.sub (f64.mul (local.get $cf) (local.get $xf)) (f64.mul (local.get $sf) (local.get $hf))))
            (local.set $p (local.get $x))
            (local.set $i (i32.sub (local.get $i) (i32.const 1)))
            (br $rot)))
        (f64.store (local.get $p) (local.get $hf))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $cols))))
)
