;; symmetric-eigen.ts's solver (tred2 then tql2 on the eigenvectors as rows; float64, row-major n×n at byte
;; offset $v). Every function does exactly the arithmetic of the JavaScript it replaces, element by element and in
;; the same order (WebAssembly never fuses a multiply-add), so the results are bitwise those of the JavaScript.
;; Two lanes (f64x2) where the operations are element-wise; sums stay sequential, two rows' sums interleaved where
;; the rows are independent. tql2's rotations of one QL step run after its recurrence (they never feed back).
;; rmm_factor's fit (fitPositions) runs the QL iterations of two positions at once, one in each lane ($tql2x2),
;; each lane masked to exactly its own position's operations.
(module
  (memory (export "memory") 1)

  ;; tred2, for row i: e[k] += v[j,k]·d[j] over the upper triangle, g = e[j] + v[j,j]·d[j] + Σₖ v[j,k]·d[k] → e[j],
  ;; and v[i,j] = d[j], for j < i (the symmetric product with the Householder vector).
  (func $symv (export "symv") (param $v i32) (param $n i32) (param $i i32) (param $d i32) (param $e i32)
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
  (func $rank2 (export "rank2") (param $v i32) (param $n i32) (param $i i32) (param $d i32) (param $e i32)
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
  (func $accumulate (export "accumulate") (param $v i32) (param $n i32) (param $i i32) (param $d i32)
    (local $j i32) (local $len i32) (local $u i32) (local $row i32) (local $stride i32)
    (local $k i32) (local $g0 f64) (local $g1 f64) (local $uk v128) (local $p v128) (local $q v128)
    (local $g2 f64) (local $g3 f64) (local $p2 v128) (local $p3 v128) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $uf f64)
    (local.set $len (i32.add (local.get $i) (i32.const 1)))
    (local.set $stride (i32.shl (local.get $n) (i32.const 3)))
    (local.set $u (i32.add (local.get $v) (i32.mul (local.get $len) (local.get $stride))))
    (local.set $row (local.get $v))
    ;; four rows at a time while they last (four independent sums), then two, then one
    (block $quads_done
      (loop $quads
        (br_if $quads_done (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $len)))
        (local.set $r1 (i32.add (local.get $row) (local.get $stride)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $stride)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $stride)))
        (local.set $g0 (f64.const 0))
        (local.set $g1 (f64.const 0))
        (local.set $g2 (f64.const 0))
        (local.set $g3 (f64.const 0))
        (local.set $k (i32.const 0))
        (block $pairs_done
          (loop $pairs
            (br_if $pairs_done (i32.gt_s (i32.add (local.get $k) (i32.const 2)) (local.get $len)))
            (local.set $uk (v128.load (i32.add (local.get $u) (i32.shl (local.get $k) (i32.const 3)))))
            (local.set $p (f64x2.mul (local.get $uk) (v128.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $q (f64x2.mul (local.get $uk) (v128.load (i32.add (local.get $r1) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $p2 (f64x2.mul (local.get $uk) (v128.load (i32.add (local.get $r2) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $p3 (f64x2.mul (local.get $uk) (v128.load (i32.add (local.get $r3) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $g0 (f64.add (local.get $g0) (f64x2.extract_lane 0 (local.get $p))))
            (local.set $g1 (f64.add (local.get $g1) (f64x2.extract_lane 0 (local.get $q))))
            (local.set $g2 (f64.add (local.get $g2) (f64x2.extract_lane 0 (local.get $p2))))
            (local.set $g3 (f64.add (local.get $g3) (f64x2.extract_lane 0 (local.get $p3))))
            (local.set $g0 (f64.add (local.get $g0) (f64x2.extract_lane 1 (local.get $p))))
            (local.set $g1 (f64.add (local.get $g1) (f64x2.extract_lane 1 (local.get $q))))
            (local.set $g2 (f64.add (local.get $g2) (f64x2.extract_lane 1 (local.get $p2))))
            (local.set $g3 (f64.add (local.get $g3) (f64x2.extract_lane 1 (local.get $p3))))
            (local.set $k (i32.add (local.get $k) (i32.const 2)))
            (br $pairs)))
        (if (i32.lt_s (local.get $k) (local.get $len))
          (then
            (local.set $uf (f64.load (i32.add (local.get $u) (i32.shl (local.get $k) (i32.const 3)))))
            (local.set $g0 (f64.add (local.get $g0) (f64.mul (local.get $uf) (f64.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3)))))))
            (local.set $g1 (f64.add (local.get $g1) (f64.mul (local.get $uf) (f64.load (i32.add (local.get $r1) (i32.shl (local.get $k) (i32.const 3)))))))
            (local.set $g2 (f64.add (local.get $g2) (f64.mul (local.get $uf) (f64.load (i32.add (local.get $r2) (i32.shl (local.get $k) (i32.const 3)))))))
            (local.set $g3 (f64.add (local.get $g3) (f64.mul (local.get $uf) (f64.load (i32.add (local.get $r3) (i32.shl (local.get $k) (i32.const 3)))))))))
        (call $axpy (local.get $row) (local.get $g0) (local.get $d) (local.get $len))
        (call $axpy (local.get $r1) (local.get $g1) (local.get $d) (local.get $len))
        (call $axpy (local.get $r2) (local.get $g2) (local.get $d) (local.get $len))
        (call $axpy (local.get $r3) (local.get $g3) (local.get $d) (local.get $len))
        (local.set $row (i32.add (local.get $r3) (local.get $stride)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $quads)))
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
  (func $rotate (export "rotate") (param $v i32) (param $n i32) (param $lo i32) (param $hi i32) (param $c i32) (param $s i32)
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

  ;; tred2 on the rows of the n×n matrix at $v (the JavaScript driver's tred2, statement for statement).
  (func $tred2 (param $v i32) (param $n i32) (param $d i32) (param $e i32)
    (local $i i32) (local $j i32) (local $k i32) (local $t i32) (local $im1 i32)
    (local $scale f64) (local $h f64) (local $f f64) (local $g f64) (local $hh f64)
    ;; d[j] = v[j*n + n-1]
    (local.set $j (i32.const 0))
    (block $b0 (loop $l0
      (br_if $b0 (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $t (i32.sub (i32.add (i32.mul (local.get $j) (local.get $n)) (local.get $n)) (i32.const 1)))
      (f64.store (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 3))) (f64.load (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $l0)))
    (local.set $i (i32.sub (local.get $n) (i32.const 1)))
    (block $b1 (loop $l1
      (br_if $b1 (i32.le_s (local.get $i) (i32.const 0)))
      (local.set $im1 (i32.sub (local.get $i) (i32.const 1)))
      (local.set $scale (f64.const 0))
      (local.set $h (f64.const 0))
      (local.set $k (i32.const 0))
      (block $b2 (loop $l2
        (br_if $b2 (i32.ge_s (local.get $k) (local.get $i)))
        (local.set $scale (f64.add (local.get $scale) (f64.abs (f64.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $l2)))
      (if (f64.eq (local.get $scale) (f64.const 0))
        (then
          (f64.store (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 3))) (f64.load (i32.add (local.get $d) (i32.shl (local.get $im1) (i32.const 3)))))
          (local.set $j (i32.const 0))
          (block $b3 (loop $l3
            (br_if $b3 (i32.ge_s (local.get $j) (local.get $i)))
            (local.set $t (i32.add (i32.mul (local.get $j) (local.get $n)) (local.get $im1)))
            (f64.store (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 3))) (f64.load (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3)))))
            (local.set $t (i32.add (i32.mul (local.get $j) (local.get $n)) (local.get $i)))
            (f64.store (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3))) (f64.const 0))
            (local.set $t (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)))
            (f64.store (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3))) (f64.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $l3))))
        (else
          (local.set $k (i32.const 0))
          (block $b4 (loop $l4
            (br_if $b4 (i32.ge_s (local.get $k) (local.get $i)))
            (f64.store (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3))) (f64.div (f64.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3)))) (local.get $scale)))
            (local.set $h (f64.add (local.get $h) (f64.mul (f64.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3)))) (f64.load (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3)))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $l4)))
          (local.set $f (f64.load (i32.add (local.get $d) (i32.shl (local.get $im1) (i32.const 3)))))
          (local.set $g (f64.sqrt (local.get $h)))
          (if (f64.gt (local.get $f) (f64.const 0)) (then (local.set $g (f64.neg (local.get $g)))))
          (f64.store (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 3))) (f64.mul (local.get $scale) (local.get $g)))
          (local.set $h (f64.sub (local.get $h) (f64.mul (local.get $f) (local.get $g))))
          (f64.store (i32.add (local.get $d) (i32.shl (local.get $im1) (i32.const 3))) (f64.sub (local.get $f) (local.get $g)))
          (local.set $j (i32.const 0))
          (block $b5 (loop $l5
            (br_if $b5 (i32.ge_s (local.get $j) (local.get $i)))
            (f64.store (i32.add (local.get $e) (i32.shl (local.get $j) (i32.const 3))) (f64.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $l5)))
          (call $symv (local.get $v) (local.get $n) (local.get $i) (local.get $d) (local.get $e))
          (local.set $f (f64.const 0))
          (local.set $j (i32.const 0))
          (block $b6 (loop $l6
            (br_if $b6 (i32.ge_s (local.get $j) (local.get $i)))
            (f64.store (i32.add (local.get $e) (i32.shl (local.get $j) (i32.const 3))) (f64.div (f64.load (i32.add (local.get $e) (i32.shl (local.get $j) (i32.const 3)))) (local.get $h)))
            (local.set $f (f64.add (local.get $f) (f64.mul (f64.load (i32.add (local.get $e) (i32.shl (local.get $j) (i32.const 3)))) (f64.load (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 3)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $l6)))
          (local.set $hh (f64.div (local.get $f) (f64.add (local.get $h) (local.get $h))))
          (local.set $j (i32.const 0))
          (block $b7 (loop $l7
            (br_if $b7 (i32.ge_s (local.get $j) (local.get $i)))
            (f64.store (i32.add (local.get $e) (i32.shl (local.get $j) (i32.const 3))) (f64.sub (f64.load (i32.add (local.get $e) (i32.shl (local.get $j) (i32.const 3)))) (f64.mul (local.get $hh) (f64.load (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 3)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $l7)))
          (call $rank2 (local.get $v) (local.get $n) (local.get $i) (local.get $d) (local.get $e))))
      (f64.store (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3))) (local.get $h))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $l1)))
    ;; accumulate the transformations
    (local.set $i (i32.const 0))
    (block $b8 (loop $l8
      (br_if $b8 (i32.ge_s (local.get $i) (i32.sub (local.get $n) (i32.const 1))))
      (local.set $t (i32.mul (local.get $i) (local.get $n)))
      (local.set $j (i32.sub (i32.add (local.get $t) (local.get $n)) (i32.const 1)))
      (local.set $k (i32.add (local.get $t) (local.get $i)))
      (f64.store (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3))) (f64.load (i32.add (local.get $v) (i32.shl (local.get $k) (i32.const 3)))))
      (f64.store (i32.add (local.get $v) (i32.shl (local.get $k) (i32.const 3))) (f64.const 1))
      (local.set $im1 (i32.add (local.get $i) (i32.const 1)))
      (local.set $h (f64.load (i32.add (local.get $d) (i32.shl (local.get $im1) (i32.const 3)))))
      (if (f64.ne (local.get $h) (f64.const 0))
        (then
          (local.set $k (i32.const 0))
          (block $b9 (loop $l9
            (br_if $b9 (i32.gt_s (local.get $k) (local.get $i)))
            (local.set $t (i32.add (i32.mul (local.get $im1) (local.get $n)) (local.get $k)))
            (f64.store (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3))) (f64.div (f64.load (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3)))) (local.get $h)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $l9)))
          (call $accumulate (local.get $v) (local.get $n) (local.get $i) (local.get $d))))
      (local.set $k (i32.const 0))
      (block $b10 (loop $l10
        (br_if $b10 (i32.gt_s (local.get $k) (local.get $i)))
        (local.set $t (i32.add (i32.mul (local.get $im1) (local.get $n)) (local.get $k)))
        (f64.store (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3))) (f64.const 0))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $l10)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l8)))
    (local.set $j (i32.const 0))
    (block $b11 (loop $l11
      (br_if $b11 (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $t (i32.sub (i32.add (i32.mul (local.get $j) (local.get $n)) (local.get $n)) (i32.const 1)))
      (f64.store (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 3))) (f64.load (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3)))))
      (f64.store (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3))) (f64.const 0))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $l11)))
    (local.set $t (i32.sub (i32.mul (local.get $n) (local.get $n)) (i32.const 1)))
    (f64.store (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3))) (f64.const 1))
    (f64.store (local.get $e) (f64.const 0)))

  ;; tql2 on the rows of $v after $tred2 (the JavaScript driver's tql2, statement for statement), then the
  ;; selection sort: rows and d ascending.
  (func $tql2 (param $v i32) (param $n i32) (param $d i32) (param $e i32) (param $cs i32) (param $ss i32)
    (local $i i32) (local $l i32) (local $m i32) (local $iter i32) (local $t i32) (local $l1 i32) (local $k i32)
    (local $f f64) (local $tst1 f64) (local $g f64) (local $p f64) (local $r f64) (local $dl1 f64) (local $h f64)
    (local $c f64) (local $c2 f64) (local $c3 f64) (local $el1 f64) (local $s f64) (local $s2 f64) (local $x f64)
    (local.set $i (i32.const 1))
    (block $b0 (loop $l0
      (br_if $b0 (i32.ge_s (local.get $i) (local.get $n)))
      (local.set $t (i32.sub (local.get $i) (i32.const 1)))
      (f64.store (i32.add (local.get $e) (i32.shl (local.get $t) (i32.const 3))) (f64.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l0)))
    (local.set $t (i32.sub (local.get $n) (i32.const 1)))
    (f64.store (i32.add (local.get $e) (i32.shl (local.get $t) (i32.const 3))) (f64.const 0))
    (local.set $f (f64.const 0))
    (local.set $tst1 (f64.const 0))
    (local.set $l (i32.const 0))
    (block $b1 (loop $lp1
      (br_if $b1 (i32.ge_s (local.get $l) (local.get $n)))
      (local.set $tst1 (f64.max (local.get $tst1) (f64.add (f64.abs (f64.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 3))))) (f64.abs (f64.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 3))))))))
      (local.set $m (local.get $l))
      (block $b2 (loop $lp2
        (br_if $b2 (i32.ge_s (local.get $m) (i32.sub (local.get $n) (i32.const 1))))
        (br_if $b2 (i32.eqz (f64.gt (f64.abs (f64.load (i32.add (local.get $e) (i32.shl (local.get $m) (i32.const 3))))) (f64.mul (f64.const 0x1p-52) (local.get $tst1)))))
        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (br $lp2)))
      (if (i32.gt_s (local.get $m) (local.get $l))
        (then
          (local.set $l1 (i32.add (local.get $l) (i32.const 1)))
          (local.set $iter (i32.const 0))
          (block $b3 (loop $lp3
            (br_if $b3 (i32.ge_s (local.get $iter) (i32.const 60)))
            (local.set $g (f64.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 3)))))
            (local.set $p (f64.div (f64.sub (f64.load (i32.add (local.get $d) (i32.shl (local.get $l1) (i32.const 3)))) (local.get $g)) (f64.mul (f64.const 2) (f64.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 3)))))))
            (local.set $r (f64.sqrt (f64.add (f64.mul (local.get $p) (local.get $p)) (f64.const 1))))
            (if (f64.lt (local.get $p) (f64.const 0)) (then (local.set $r (f64.neg (local.get $r)))))
            (f64.store (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 3))) (f64.div (f64.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 3)))) (f64.add (local.get $p) (local.get $r))))
            (f64.store (i32.add (local.get $d) (i32.shl (local.get $l1) (i32.const 3))) (f64.mul (f64.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 3)))) (f64.add (local.get $p) (local.get $r))))
            (local.set $dl1 (f64.load (i32.add (local.get $d) (i32.shl (local.get $l1) (i32.const 3)))))
            (local.set $h (f64.sub (local.get $g) (f64.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 3))))))
            (local.set $i (i32.add (local.get $l) (i32.const 2)))
            (block $b4 (loop $lp4
              (br_if $b4 (i32.ge_s (local.get $i) (local.get $n)))
              (f64.store (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3))) (f64.sub (f64.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3)))) (local.get $h)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $lp4)))
            (local.set $f (f64.add (local.get $f) (local.get $h)))
            (local.set $p (f64.load (i32.add (local.get $d) (i32.shl (local.get $m) (i32.const 3)))))
            (local.set $c (f64.const 1))
            (local.set $c2 (local.get $c))
            (local.set $c3 (local.get $c))
            (local.set $el1 (f64.load (i32.add (local.get $e) (i32.shl (local.get $l1) (i32.const 3)))))
            (local.set $s (f64.const 0))
            (local.set $s2 (f64.const 0))
            (local.set $i (i32.sub (local.get $m) (i32.const 1)))
            (block $b5 (loop $lp5
              (br_if $b5 (i32.lt_s (local.get $i) (local.get $l)))
              (local.set $t (i32.add (local.get $i) (i32.const 1)))
              (local.set $c3 (local.get $c2))
              (local.set $c2 (local.get $c))
              (local.set $s2 (local.get $s))
              (local.set $g (f64.mul (local.get $c) (f64.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 3))))))
              (local.set $h (f64.mul (local.get $c) (local.get $p)))
              (local.set $r (f64.sqrt (f64.add (f64.mul (local.get $p) (local.get $p)) (f64.mul (f64.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 3)))) (f64.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 3))))))))
              (f64.store (i32.add (local.get $e) (i32.shl (local.get $t) (i32.const 3))) (f64.mul (local.get $s) (local.get $r)))
              (local.set $s (f64.div (f64.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 3)))) (local.get $r)))
              (local.set $c (f64.div (local.get $p) (local.get $r)))
              (local.set $p (f64.sub (f64.mul (local.get $c) (f64.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3))))) (f64.mul (local.get $s) (local.get $g))))
              (f64.store (i32.add (local.get $d) (i32.shl (local.get $t) (i32.const 3)))
                (f64.add (local.get $h)
                  (f64.mul (local.get $s) (f64.add (f64.mul (local.get $c) (local.get $g)) (f64.mul (local.get $s) (f64.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3)))))))))
              (f64.store (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 3))) (local.get $c))
              (f64.store (i32.add (local.get $ss) (i32.shl (local.get $i) (i32.const 3))) (local.get $s))
              (local.set $i (i32.sub (local.get $i) (i32.const 1)))
              (br $lp5)))
            (call $rotate (local.get $v) (local.get $n) (local.get $l) (local.get $m) (local.get $cs) (local.get $ss))
            (local.set $p
              (f64.div
                (f64.mul
                  (f64.mul (f64.mul (f64.mul (f64.neg (local.get $s)) (local.get $s2)) (local.get $c3)) (local.get $el1))
                  (f64.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 3)))))
                (local.get $dl1)))
            (f64.store (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 3))) (f64.mul (local.get $s) (local.get $p)))
            (f64.store (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 3))) (f64.mul (local.get $c) (local.get $p)))
            (br_if $b3 (i32.eqz (f64.gt (f64.abs (f64.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 3))))) (f64.mul (f64.const 0x1p-52) (local.get $tst1)))))
            (local.set $iter (i32.add (local.get $iter) (i32.const 1)))
            (br $lp3)))))
      (f64.store (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 3))) (f64.add (f64.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 3)))) (local.get $f)))
      (f64.store (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 3))) (f64.const 0))
      (local.set $l (i32.add (local.get $l) (i32.const 1)))
      (br $lp1)))
    ;; selection sort, ascending, rows with their values
    (local.set $i (i32.const 0))
    (block $b6 (loop $lp6
      (br_if $b6 (i32.ge_s (local.get $i) (i32.sub (local.get $n) (i32.const 1))))
      (local.set $k (local.get $i))
      (local.set $p (f64.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $m (i32.add (local.get $i) (i32.const 1)))
      (block $b7 (loop $lp7
        (br_if $b7 (i32.ge_s (local.get $m) (local.get $n)))
        (if (f64.lt (f64.load (i32.add (local.get $d) (i32.shl (local.get $m) (i32.const 3)))) (local.get $p))
          (then (local.set $k (local.get $m)) (local.set $p (f64.load (i32.add (local.get $d) (i32.shl (local.get $m) (i32.const 3)))))))
        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (br $lp7)))
      (if (i32.ne (local.get $k) (local.get $i))
        (then
          (f64.store (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3))) (f64.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3)))))
          (f64.store (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3))) (local.get $p))
          (local.set $m (i32.const 0))
          (block $b8 (loop $lp8
            (br_if $b8 (i32.ge_s (local.get $m) (local.get $n)))
            (local.set $t (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $m)))
            (local.set $l (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $m)))
            (local.set $x (f64.load (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3)))))
            (f64.store (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 3))) (f64.load (i32.add (local.get $v) (i32.shl (local.get $l) (i32.const 3)))))
            (f64.store (i32.add (local.get $v) (i32.shl (local.get $l) (i32.const 3))) (local.get $x))
            (local.set $m (i32.add (local.get $m) (i32.const 1)))
            (br $lp8)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $lp6))))

  ;; The whole solve on the rows of the n×n matrix at $v: eigenvectors as rows, rows and d ascending.
  (func (export "eigenRows") (param $v i32) (param $n i32) (param $d i32) (param $e i32) (param $cs i32) (param $ss i32)
    (call $tred2 (local.get $v) (local.get $n) (local.get $d) (local.get $e))
    (call $tql2 (local.get $v) (local.get $n) (local.get $d) (local.get $e) (local.get $cs) (local.get $ss)))

  ;; reversible-factor.ts's fitPositions for n ≤ r and p < n, over `count` positions: X at $x (per position n×r,
  ;; task-major, as gathered), μ → $mu (r per position), V → $basis (p·r), C → $coef (n·p); $basis and $coef
  ;; zeroed by the caller. The eigensolve is eigenRows on the n×n Gram at $g, read in descending order. Positions
  ;; go two at a time: each Gram is tridiagonalised alone ($tred2), then both QL iterations run in the lanes of
  ;; $tql2x2; a position whose X − μ is zero has no eigenproblem, and its partner is solved alone. $w: the pair's
  ;; workspace (24n² + 96n bytes).
  (func (export "fitPositions") (param $count i32) (param $n i32) (param $r i32) (param $p i32)
    (param $x i32) (param $mu i32) (param $basis i32) (param $coef i32)
    (param $g i32) (param $d i32) (param $e i32) (param $cs i32) (param $ss i32) (param $w i32)
    (local $pos i32) (local $t0 f64) (local $t1 f64) (local $nn i32) (local $g1 i32) (local $d1 i32) (local $e1 i32)
    (local $v2 i32) (local $d2 i32) (local $e2 i32) (local $cs2 i32) (local $ss2 i32) (local $mk2 i32)
    (local $x0 i32) (local $x1 i32)
    (local.set $nn (i32.mul (local.get $n) (local.get $n)))
    (local.set $g1 (local.get $w))
    (local.set $d1 (i32.add (local.get $g1) (i32.shl (local.get $nn) (i32.const 3))))
    (local.set $e1 (i32.add (local.get $d1) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $v2 (i32.add (local.get $e1) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $d2 (i32.add (local.get $v2) (i32.shl (local.get $nn) (i32.const 4))))
    (local.set $e2 (i32.add (local.get $d2) (i32.shl (local.get $n) (i32.const 4))))
    (local.set $cs2 (i32.add (local.get $e2) (i32.shl (local.get $n) (i32.const 4))))
    (local.set $ss2 (i32.add (local.get $cs2) (i32.shl (local.get $n) (i32.const 4))))
    (local.set $mk2 (i32.add (local.get $ss2) (i32.shl (local.get $n) (i32.const 4))))
    (block $bpos (loop $lpos
      (br_if $bpos (i32.ge_s (local.get $pos) (local.get $count)))
      (local.set $x0 (i32.add (local.get $x) (i32.shl (i32.mul (local.get $pos) (i32.mul (local.get $n) (local.get $r))) (i32.const 3))))
      (local.set $t0 (call $centre (local.get $pos) (local.get $n) (local.get $r) (local.get $x) (local.get $mu)))
      (if (i32.lt_s (i32.add (local.get $pos) (i32.const 1)) (local.get $count))
        (then
          (local.set $x1 (i32.add (local.get $x0) (i32.shl (i32.mul (local.get $n) (local.get $r)) (i32.const 3))))
          (local.set $t1 (call $centre (i32.add (local.get $pos) (i32.const 1)) (local.get $n) (local.get $r) (local.get $x) (local.get $mu)))
          (if (i32.and (f64.ne (local.get $t0) (f64.const 0)) (f64.ne (local.get $t1) (f64.const 0)))
            (then
              (call $gram (local.get $x0) (local.get $n) (local.get $r) (local.get $g))
              (call $tred2 (local.get $g) (local.get $n) (local.get $d) (local.get $e))
              (call $gram (local.get $x1) (local.get $n) (local.get $r) (local.get $g1))
              (call $tred2 (local.get $g1) (local.get $n) (local.get $d1) (local.get $e1))
              (call $interleave (local.get $g) (local.get $g1) (local.get $v2) (local.get $nn))
              (call $interleave (local.get $d) (local.get $d1) (local.get $d2) (local.get $n))
              (call $interleave (local.get $e) (local.get $e1) (local.get $e2) (local.get $n))
              (call $tql2x2 (local.get $v2) (local.get $n) (local.get $d2) (local.get $e2) (local.get $cs2) (local.get $ss2) (local.get $mk2))
              (call $basisFrom (local.get $pos) (local.get $n) (local.get $r) (local.get $p) (local.get $x) (local.get $basis) (local.get $coef)
                (local.get $t0) (local.get $v2) (local.get $d2) (i32.const 16) (local.get $cs))
              (call $basisFrom (i32.add (local.get $pos) (i32.const 1)) (local.get $n) (local.get $r) (local.get $p) (local.get $x) (local.get $basis) (local.get $coef)
                (local.get $t1) (i32.add (local.get $v2) (i32.const 8)) (i32.add (local.get $d2) (i32.const 8)) (i32.const 16) (local.get $cs)))
            (else
              (if (f64.ne (local.get $t0) (f64.const 0))
                (then (call $solveOne (local.get $pos) (local.get $n) (local.get $r) (local.get $p) (local.get $x) (local.get $basis) (local.get $coef)
                  (local.get $t0) (local.get $g) (local.get $d) (local.get $e) (local.get $cs) (local.get $ss))))
              (if (f64.ne (local.get $t1) (f64.const 0))
                (then (call $solveOne (i32.add (local.get $pos) (i32.const 1)) (local.get $n) (local.get $r) (local.get $p) (local.get $x) (local.get $basis) (local.get $coef)
                  (local.get $t1) (local.get $g) (local.get $d) (local.get $e) (local.get $cs) (local.get $ss))))))
          (local.set $pos (i32.add (local.get $pos) (i32.const 2))))
        (else
          (if (f64.ne (local.get $t0) (f64.const 0))
            (then (call $solveOne (local.get $pos) (local.get $n) (local.get $r) (local.get $p) (local.get $x) (local.get $basis) (local.get $coef)
              (local.get $t0) (local.get $g) (local.get $d) (local.get $e) (local.get $cs) (local.get $ss))))
          (local.set $pos (i32.add (local.get $pos) (i32.const 1)))))
      (br $lpos))))

  ;; fitPositions for one position alone: the Gram, tred2, tql2, the basis.
  (func $solveOne (param $pos i32) (param $n i32) (param $r i32) (param $p i32) (param $x i32) (param $basis i32) (param $coef i32)
    (param $trace f64) (param $g i32) (param $d i32) (param $e i32) (param $cs i32) (param $ss i32)
    (call $gram (i32.add (local.get $x) (i32.shl (i32.mul (local.get $pos) (i32.mul (local.get $n) (local.get $r))) (i32.const 3)))
      (local.get $n) (local.get $r) (local.get $g))
    (call $tred2 (local.get $g) (local.get $n) (local.get $d) (local.get $e))
    (call $tql2 (local.get $g) (local.get $n) (local.get $d) (local.get $e) (local.get $cs) (local.get $ss))
    (call $basisFrom (local.get $pos) (local.get $n) (local.get $r) (local.get $p) (local.get $x) (local.get $basis) (local.get $coef)
      (local.get $trace) (local.get $g) (local.get $d) (i32.const 8) (local.get $cs)))

  ;; Position pos's μ (into $mu) and X − μ in place; returns the squared norm of X − μ, summed in task-major order.
  ;; Two columns k at a time in the lanes (each μ[k] still summed in task order; the norm's sum stays sequential).
  (func $centre (param $pos i32) (param $n i32) (param $r i32) (param $x i32) (param $mu i32) (result f64)
    (local $i i32) (local $k i32) (local $xo i32) (local $mo i32) (local $row i32) (local $m f64) (local $c f64)
    (local $trace f64) (local $mv v128) (local $cv v128) (local $fn v128)
    (local.set $xo (i32.add (local.get $x) (i32.shl (i32.mul (local.get $pos) (i32.mul (local.get $n) (local.get $r))) (i32.const 3))))
    (local.set $mo (i32.add (local.get $mu) (i32.shl (i32.mul (local.get $pos) (local.get $r)) (i32.const 3))))
    (local.set $fn (f64x2.splat (f64.convert_i32_s (local.get $n))))
    ;; μ[k] = (Σᵢ x[i,k]) / n, summed in task order
    (block $b1 (loop $l1
      (br_if $b1 (i32.gt_s (i32.add (local.get $k) (i32.const 2)) (local.get $r)))
      (local.set $mv (v128.const i64x2 0 0))
      (local.set $row (i32.add (local.get $xo) (i32.shl (local.get $k) (i32.const 3))))
      (local.set $i (i32.const 0))
      (block $b2 (loop $l2
        (br_if $b2 (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $mv (f64x2.add (local.get $mv) (v128.load (local.get $row))))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $r) (i32.const 3))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l2)))
      (v128.store (i32.add (local.get $mo) (i32.shl (local.get $k) (i32.const 3))) (f64x2.div (local.get $mv) (local.get $fn)))
      (local.set $k (i32.add (local.get $k) (i32.const 2)))
      (br $l1)))
    (if (i32.lt_s (local.get $k) (local.get $r))
      (then
        (local.set $m (f64.const 0))
        (local.set $row (i32.add (local.get $xo) (i32.shl (local.get $k) (i32.const 3))))
        (local.set $i (i32.const 0))
        (block $b2 (loop $l2
          (br_if $b2 (i32.ge_s (local.get $i) (local.get $n)))
          (local.set $m (f64.add (local.get $m) (f64.load (local.get $row))))
          (local.set $row (i32.add (local.get $row) (i32.shl (local.get $r) (i32.const 3))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l2)))
        (f64.store (i32.add (local.get $mo) (i32.shl (local.get $k) (i32.const 3))) (f64.div (local.get $m) (f64.convert_i32_s (local.get $n))))))
    ;; X − μ in place, and its squared norm in task-major order
    (local.set $row (local.get $xo))
    (local.set $i (i32.const 0))
    (block $b3 (loop $l3
      (br_if $b3 (i32.ge_s (local.get $i) (local.get $n)))
      (local.set $k (i32.const 0))
      (block $b4 (loop $l4
        (br_if $b4 (i32.gt_s (i32.add (local.get $k) (i32.const 2)) (local.get $r)))
        (local.set $cv
          (f64x2.sub
            (v128.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3))))
            (v128.load (i32.add (local.get $mo) (i32.shl (local.get $k) (i32.const 3))))))
        (v128.store (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3))) (local.get $cv))
        (local.set $cv (f64x2.mul (local.get $cv) (local.get $cv)))
        (local.set $trace (f64.add (local.get $trace) (f64x2.extract_lane 0 (local.get $cv))))
        (local.set $trace (f64.add (local.get $trace) (f64x2.extract_lane 1 (local.get $cv))))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $l4)))
      (if (i32.lt_s (local.get $k) (local.get $r))
        (then
          (local.set $c
            (f64.sub
              (f64.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3))))
              (f64.load (i32.add (local.get $mo) (i32.shl (local.get $k) (i32.const 3))))))
          (f64.store (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3))) (local.get $c))
          (local.set $trace (f64.add (local.get $trace) (f64.mul (local.get $c) (local.get $c))))))
      (local.set $row (i32.add (local.get $row) (i32.shl (local.get $r) (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l3)))
    (local.get $trace))

  ;; Position pos's V and C from its eigenpairs (ascending: rows of $g and values at $d, an element every $st
  ;; bytes): pair j (descending) is row and value n−1−j, V[:, j] = X·e/√λ, C[j, :] = √λ·eᵀ. Each V[k, j] is summed
  ;; over the tasks in order from zero, as before, two k at a time in the lanes; $w holds the n factors e/√λ.
  (func $basisFrom (param $pos i32) (param $n i32) (param $r i32) (param $p i32) (param $x i32) (param $basis i32) (param $coef i32)
    (param $trace f64) (param $g i32) (param $d i32) (param $st i32) (param $w i32)
    (local $i i32) (local $k i32) (local $j i32) (local $a i32) (local $t i32) (local $xo i32) (local $bo i32) (local $co i32) (local $vj i32)
    (local $row i32) (local $lambda f64) (local $root f64) (local $ev f64) (local $acc v128) (local $s f64)
    (local.set $xo (i32.add (local.get $x) (i32.shl (i32.mul (local.get $pos) (i32.mul (local.get $n) (local.get $r))) (i32.const 3))))
    (local.set $bo (i32.add (local.get $basis) (i32.shl (i32.mul (local.get $pos) (i32.mul (local.get $r) (local.get $p))) (i32.const 3))))
    (local.set $co (i32.add (local.get $coef) (i32.shl (i32.mul (local.get $pos) (i32.mul (local.get $p) (local.get $n))) (i32.const 3))))
    (block $b8 (loop $l8
      (br_if $b8 (i32.ge_s (local.get $j) (local.get $p)))
      (local.set $a (i32.sub (i32.sub (local.get $n) (i32.const 1)) (local.get $j)))
      (local.set $lambda (f64.load (i32.add (local.get $d) (i32.mul (local.get $a) (local.get $st)))))
      (br_if $b8 (i32.eqz (f64.gt (local.get $lambda) (f64.mul (f64.const 1e-24) (local.get $trace)))))
      (local.set $root (f64.sqrt (local.get $lambda)))
      (local.set $vj (i32.add (local.get $bo) (i32.shl (i32.mul (local.get $j) (local.get $r)) (i32.const 3))))
      (local.set $i (i32.const 0))
      (block $b9 (loop $l9
        (br_if $b9 (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $t (i32.add (i32.mul (local.get $a) (local.get $n)) (local.get $i)))
        (local.set $ev (f64.load (i32.add (local.get $g) (i32.mul (local.get $t) (local.get $st)))))
        (local.set $t (i32.add (i32.mul (local.get $i) (local.get $p)) (local.get $j)))
        (f64.store (i32.add (local.get $co) (i32.shl (local.get $t) (i32.const 3))) (f64.mul (local.get $root) (local.get $ev)))
        (f64.store (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3))) (f64.div (local.get $ev) (local.get $root)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l9)))
      (local.set $k (i32.const 0))
      (block $b10 (loop $l10
        (br_if $b10 (i32.gt_s (i32.add (local.get $k) (i32.const 2)) (local.get $r)))
        (local.set $acc (v128.const i64x2 0 0))
        (local.set $row (i32.add (local.get $xo) (i32.shl (local.get $k) (i32.const 3))))
        (local.set $i (i32.const 0))
        (block $b11 (loop $l11
          (br_if $b11 (i32.ge_s (local.get $i) (local.get $n)))
          (local.set $acc
            (f64x2.add (local.get $acc)
              (f64x2.mul (v128.load (local.get $row)) (v128.load64_splat (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))))))
          (local.set $row (i32.add (local.get $row) (i32.shl (local.get $r) (i32.const 3))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l11)))
        (v128.store (i32.add (local.get $vj) (i32.shl (local.get $k) (i32.const 3))) (local.get $acc))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $l10)))
      (if (i32.lt_s (local.get $k) (local.get $r))
        (then
          (local.set $s (f64.const 0))
          (local.set $row (i32.add (local.get $xo) (i32.shl (local.get $k) (i32.const 3))))
          (local.set $i (i32.const 0))
          (block $b11 (loop $l11
            (br_if $b11 (i32.ge_s (local.get $i) (local.get $n)))
            (local.set $s
              (f64.add (local.get $s) (f64.mul (f64.load (local.get $row)) (f64.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))))))
            (local.set $row (i32.add (local.get $row) (i32.shl (local.get $r) (i32.const 3))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l11)))
          (f64.store (i32.add (local.get $vj) (i32.shl (local.get $k) (i32.const 3))) (local.get $s))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $l8))))

  ;; tql2 on two positions at once, one per f64x2 lane: v holds n×n lane pairs (row-major, 16 bytes an element),
  ;; d and e n pairs, cs, ss and mk n pairs of work. Each lane does exactly $tql2's operations on its own values, in
  ;; its order. Where the lanes' control flow differs (m, the end of the unreduced block, and the iterations to
  ;; converge) a result is kept only in the lanes where $tql2 would have computed it (v128.bitselect on a mask), so
  ;; each lane ends bitwise equal to $tql2 on that position alone. Two independent recurrences in one instruction
  ;; stream: the scalar one is a chain of square roots and divisions that leaves the core mostly waiting.
  (func $tql2x2 (param $v i32) (param $n i32) (param $d i32) (param $e i32) (param $cs i32) (param $ss i32) (param $mk i32)
    (local $i i32) (local $l i32) (local $m0 i32) (local $m1 i32) (local $mmax i32) (local $iter i32) (local $l1 i32)
    (local $f v128) (local $tst1 v128) (local $thr v128) (local $active v128) (local $mvec v128) (local $step v128)
    (local $g v128) (local $p v128) (local $r v128) (local $dl1 v128) (local $h v128) (local $c v128) (local $c2 v128)
    (local $c3 v128) (local $el1 v128) (local $s v128) (local $s2 v128) (local $ei v128) (local $di v128)
    (local $cn v128) (local $sn v128) (local $pn v128) (local $pr v128)
    (local.set $i (i32.const 1))
    (block $b0 (loop $l0
      (br_if $b0 (i32.ge_s (local.get $i) (local.get $n)))
      (v128.store (i32.add (local.get $e) (i32.shl (i32.sub (local.get $i) (i32.const 1)) (i32.const 4))) (v128.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 4)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l0)))
    (v128.store (i32.add (local.get $e) (i32.shl (i32.sub (local.get $n) (i32.const 1)) (i32.const 4))) (v128.const i64x2 0 0))
    (local.set $f (v128.const i64x2 0 0))
    (local.set $tst1 (v128.const i64x2 0 0))
    (block $b1 (loop $lp1
      (br_if $b1 (i32.ge_s (local.get $l) (local.get $n)))
      (local.set $tst1 (f64x2.max (local.get $tst1) (f64x2.add (f64x2.abs (v128.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 4))))) (f64x2.abs (v128.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 4))))))))
      (local.set $thr (f64x2.mul (f64x2.splat (f64.const 0x1p-52)) (local.get $tst1)))
      (local.set $m0 (call $blockEnd (local.get $e) (local.get $n) (local.get $l) (f64x2.extract_lane 0 (local.get $thr))))
      (local.set $m1 (call $blockEnd (i32.add (local.get $e) (i32.const 8)) (local.get $n) (local.get $l) (f64x2.extract_lane 1 (local.get $thr))))
      (local.set $mvec (i64x2.replace_lane 1 (i64x2.splat (i64.extend_i32_s (local.get $m0))) (i64.extend_i32_s (local.get $m1))))
      (local.set $active (i64x2.gt_s (local.get $mvec) (i64x2.splat (i64.extend_i32_s (local.get $l)))))
      (local.set $mmax (select (local.get $m0) (local.get $m1) (i32.gt_s (local.get $m0) (local.get $m1))))
      (local.set $l1 (i32.add (local.get $l) (i32.const 1)))
      (local.set $iter (i32.const 0))
      (block $b3 (loop $lp3
        (br_if $b3 (i32.ge_s (local.get $iter) (i32.const 60)))
        (br_if $b3 (i32.eqz (v128.any_true (local.get $active))))
        (local.set $g (v128.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 4)))))
        (local.set $p (f64x2.div (f64x2.sub (v128.load (i32.add (local.get $d) (i32.shl (local.get $l1) (i32.const 4)))) (local.get $g)) (f64x2.mul (f64x2.splat (f64.const 2)) (v128.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 4)))))))
        (local.set $r (f64x2.sqrt (f64x2.add (f64x2.mul (local.get $p) (local.get $p)) (f64x2.splat (f64.const 1)))))
        (local.set $r (v128.bitselect (f64x2.neg (local.get $r)) (local.get $r) (f64x2.lt (local.get $p) (f64x2.splat (f64.const 0)))))
        (local.set $pr (f64x2.add (local.get $p) (local.get $r)))
        (v128.store (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 4))) (v128.bitselect (f64x2.div (v128.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 4)))) (local.get $pr)) (v128.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 4)))) (local.get $active)))
        (v128.store (i32.add (local.get $d) (i32.shl (local.get $l1) (i32.const 4))) (v128.bitselect (f64x2.mul (v128.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 4)))) (local.get $pr)) (v128.load (i32.add (local.get $d) (i32.shl (local.get $l1) (i32.const 4)))) (local.get $active)))
        (local.set $dl1 (v128.load (i32.add (local.get $d) (i32.shl (local.get $l1) (i32.const 4)))))
        (local.set $h (f64x2.sub (local.get $g) (v128.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 4))))))
        (local.set $i (i32.add (local.get $l) (i32.const 2)))
        (block $b4 (loop $lp4
          (br_if $b4 (i32.ge_s (local.get $i) (local.get $n)))
          (v128.store (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 4))) (v128.bitselect (f64x2.sub (v128.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 4)))) (local.get $h)) (v128.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 4)))) (local.get $active)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $lp4)))
        (local.set $f (v128.bitselect (f64x2.add (local.get $f) (local.get $h)) (local.get $f) (local.get $active)))
        (local.set $p (f64x2.replace_lane 1 (f64x2.splat (f64.load (i32.add (local.get $d) (i32.shl (local.get $m0) (i32.const 4))))) (f64.load offset=8 (i32.add (local.get $d) (i32.shl (local.get $m1) (i32.const 4))))))
        (local.set $c (f64x2.splat (f64.const 1)))
        (local.set $c2 (local.get $c))
        (local.set $c3 (local.get $c))
        (local.set $el1 (v128.load (i32.add (local.get $e) (i32.shl (local.get $l1) (i32.const 4)))))
        (local.set $s (f64x2.splat (f64.const 0)))
        (local.set $s2 (f64x2.splat (f64.const 0)))
        (local.set $i (i32.sub (local.get $mmax) (i32.const 1)))
        (block $b5 (loop $lp5
          (br_if $b5 (i32.lt_s (local.get $i) (local.get $l)))
          (local.set $step (v128.and (local.get $active) (i64x2.gt_s (local.get $mvec) (i64x2.splat (i64.extend_i32_s (local.get $i))))))
          (local.set $ei (v128.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $di (v128.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $g (f64x2.mul (local.get $c) (local.get $ei)))
          (local.set $h (f64x2.mul (local.get $c) (local.get $p)))
          (local.set $r (f64x2.sqrt (f64x2.add (f64x2.mul (local.get $p) (local.get $p)) (f64x2.mul (local.get $ei) (local.get $ei)))))
          (v128.store (i32.add (local.get $e) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 4))) (v128.bitselect (f64x2.mul (local.get $s) (local.get $r)) (v128.load (i32.add (local.get $e) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 4)))) (local.get $step)))
          (local.set $sn (f64x2.div (local.get $ei) (local.get $r)))
          (local.set $cn (f64x2.div (local.get $p) (local.get $r)))
          (local.set $pn (f64x2.sub (f64x2.mul (local.get $cn) (local.get $di)) (f64x2.mul (local.get $sn) (local.get $g))))
          (v128.store (i32.add (local.get $d) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 4))) (v128.bitselect (f64x2.add (local.get $h) (f64x2.mul (local.get $sn) (f64x2.add (f64x2.mul (local.get $cn) (local.get $g)) (f64x2.mul (local.get $sn) (local.get $di))))) (v128.load (i32.add (local.get $d) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 4)))) (local.get $step)))
          (local.set $c3 (v128.bitselect (local.get $c2) (local.get $c3) (local.get $step)))
          (local.set $c2 (v128.bitselect (local.get $c) (local.get $c2) (local.get $step)))
          (local.set $s2 (v128.bitselect (local.get $s) (local.get $s2) (local.get $step)))
          (local.set $s (v128.bitselect (local.get $sn) (local.get $s) (local.get $step)))
          (local.set $c (v128.bitselect (local.get $cn) (local.get $c) (local.get $step)))
          (local.set $p (v128.bitselect (local.get $pn) (local.get $p) (local.get $step)))
          (v128.store (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 4))) (local.get $cn))
          (v128.store (i32.add (local.get $ss) (i32.shl (local.get $i) (i32.const 4))) (local.get $sn))
          (v128.store (i32.add (local.get $mk) (i32.shl (local.get $i) (i32.const 4))) (local.get $step))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br $lp5)))
        (call $rotate2 (local.get $v) (local.get $n) (local.get $l) (local.get $mmax)
          (select (select (local.get $m1) (local.get $m0) (i32.gt_s (local.get $m0) (local.get $m1))) (local.get $l) (i64x2.all_true (local.get $active)))
          (local.get $cs) (local.get $ss) (local.get $mk))
        (local.set $p (f64x2.div (f64x2.mul (f64x2.mul (f64x2.mul (f64x2.mul (f64x2.neg (local.get $s)) (local.get $s2)) (local.get $c3)) (local.get $el1)) (v128.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 4))))) (local.get $dl1)))
        (v128.store (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 4))) (v128.bitselect (f64x2.mul (local.get $s) (local.get $p)) (v128.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 4)))) (local.get $active)))
        (v128.store (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 4))) (v128.bitselect (f64x2.mul (local.get $c) (local.get $p)) (v128.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 4)))) (local.get $active)))
        (local.set $active (v128.and (local.get $active) (f64x2.gt (f64x2.abs (v128.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 4))))) (local.get $thr))))
        (local.set $iter (i32.add (local.get $iter) (i32.const 1)))
        (br $lp3)))
      (v128.store (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 4))) (f64x2.add (v128.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 4)))) (local.get $f)))
      (v128.store (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 4))) (v128.const i64x2 0 0))
      (local.set $l (i32.add (local.get $l) (i32.const 1)))
      (br $lp1)))
    (call $sortLane (local.get $v) (local.get $n) (local.get $d))
    (call $sortLane (i32.add (local.get $v) (i32.const 8)) (local.get $n) (i32.add (local.get $d) (i32.const 8))))


  ;; tql2x2's search for m in one lane (e at lane stride 16): the first m ≥ l with |e[m]| ≤ thr, else n − 1.
  (func $blockEnd (param $e i32) (param $n i32) (param $l i32) (param $thr f64) (result i32)
    (local $m i32)
    (local.set $m (local.get $l))
    (block $done (loop $next
      (br_if $done (i32.ge_s (local.get $m) (i32.sub (local.get $n) (i32.const 1))))
      (br_if $done (i32.eqz (f64.gt (f64.abs (f64.load (i32.add (local.get $e) (i32.shl (local.get $m) (i32.const 4))))) (local.get $thr))))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $next)))
    (local.get $m))

  ;; tql2x2's rotations of one QL step, rows hi down to lo, each kept only in the lanes its mask (mk) keeps; below
  ;; row $full every mask keeps both lanes, so no select. Per column the row below is carried, as in $rotate, four
  ;; columns at a time.
  (func $rotate2 (param $v i32) (param $n i32) (param $lo i32) (param $hi i32) (param $full i32) (param $cs i32) (param $ss i32) (param $mk i32)
    (local $k i32) (local $i i32) (local $p i32) (local $q i32) (local $stride i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $y v128) (local $cv v128) (local $sv v128) (local $m v128)
    (local.set $stride (i32.shl (local.get $n) (i32.const 4)))
    (block $quads_done (loop $quads
      (br_if $quads_done (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $n)))
        (local.set $p (i32.add (local.get $v) (i32.shl (i32.add (i32.mul (local.get $hi) (local.get $n)) (local.get $k)) (i32.const 4))))
        (local.set $x0 (v128.load offset=0 (local.get $p)))
        (local.set $x1 (v128.load offset=16 (local.get $p)))
        (local.set $x2 (v128.load offset=32 (local.get $p)))
        (local.set $x3 (v128.load offset=48 (local.get $p)))
        (local.set $i (i32.sub (local.get $hi) (i32.const 1)))
        (block $rot_done (loop $rot
          (br_if $rot_done (i32.lt_s (local.get $i) (local.get $full)))
          (local.set $cv (v128.load (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $sv (v128.load (i32.add (local.get $ss) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $m (v128.load (i32.add (local.get $mk) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $q (i32.sub (local.get $p) (local.get $stride)))
          (local.set $y (v128.load offset=0 (local.get $q)))
          (v128.store offset=0 (local.get $p)
            (v128.bitselect (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x0))) (local.get $x0) (local.get $m)))
          (local.set $x0 (v128.bitselect (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x0))) (local.get $y) (local.get $m)))
          (local.set $y (v128.load offset=16 (local.get $q)))
          (v128.store offset=16 (local.get $p)
            (v128.bitselect (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x1))) (local.get $x1) (local.get $m)))
          (local.set $x1 (v128.bitselect (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x1))) (local.get $y) (local.get $m)))
          (local.set $y (v128.load offset=32 (local.get $q)))
          (v128.store offset=32 (local.get $p)
            (v128.bitselect (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x2))) (local.get $x2) (local.get $m)))
          (local.set $x2 (v128.bitselect (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x2))) (local.get $y) (local.get $m)))
          (local.set $y (v128.load offset=48 (local.get $q)))
          (v128.store offset=48 (local.get $p)
            (v128.bitselect (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x3))) (local.get $x3) (local.get $m)))
          (local.set $x3 (v128.bitselect (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x3))) (local.get $y) (local.get $m)))
          (local.set $p (local.get $q))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br $rot)))
        (block $plain_done (loop $plain
          (br_if $plain_done (i32.lt_s (local.get $i) (local.get $lo)))
          (local.set $cv (v128.load (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $sv (v128.load (i32.add (local.get $ss) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $q (i32.sub (local.get $p) (local.get $stride)))
          (local.set $y (v128.load offset=0 (local.get $q)))
          (v128.store offset=0 (local.get $p) (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x0))))
          (local.set $x0 (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x0))))
          (local.set $y (v128.load offset=16 (local.get $q)))
          (v128.store offset=16 (local.get $p) (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x1))))
          (local.set $x1 (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x1))))
          (local.set $y (v128.load offset=32 (local.get $q)))
          (v128.store offset=32 (local.get $p) (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x2))))
          (local.set $x2 (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x2))))
          (local.set $y (v128.load offset=48 (local.get $q)))
          (v128.store offset=48 (local.get $p) (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x3))))
          (local.set $x3 (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x3))))
          (local.set $p (local.get $q))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br $plain)))
        (v128.store offset=0 (local.get $p) (local.get $x0))
        (v128.store offset=16 (local.get $p) (local.get $x1))
        (v128.store offset=32 (local.get $p) (local.get $x2))
        (v128.store offset=48 (local.get $p) (local.get $x3))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
      (br $quads)))
    (block $cols_done (loop $cols
      (br_if $cols_done (i32.ge_s (local.get $k) (local.get $n)))
        (local.set $p (i32.add (local.get $v) (i32.shl (i32.add (i32.mul (local.get $hi) (local.get $n)) (local.get $k)) (i32.const 4))))
        (local.set $x0 (v128.load offset=0 (local.get $p)))
        (local.set $i (i32.sub (local.get $hi) (i32.const 1)))
        (block $rot_done (loop $rot
          (br_if $rot_done (i32.lt_s (local.get $i) (local.get $full)))
          (local.set $cv (v128.load (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $sv (v128.load (i32.add (local.get $ss) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $m (v128.load (i32.add (local.get $mk) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $q (i32.sub (local.get $p) (local.get $stride)))
          (local.set $y (v128.load offset=0 (local.get $q)))
          (v128.store offset=0 (local.get $p)
            (v128.bitselect (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x0))) (local.get $x0) (local.get $m)))
          (local.set $x0 (v128.bitselect (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x0))) (local.get $y) (local.get $m)))
          (local.set $p (local.get $q))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br $rot)))
        (block $plain_done (loop $plain
          (br_if $plain_done (i32.lt_s (local.get $i) (local.get $lo)))
          (local.set $cv (v128.load (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $sv (v128.load (i32.add (local.get $ss) (i32.shl (local.get $i) (i32.const 4)))))
          (local.set $q (i32.sub (local.get $p) (local.get $stride)))
          (local.set $y (v128.load offset=0 (local.get $q)))
          (v128.store offset=0 (local.get $p) (f64x2.add (f64x2.mul (local.get $sv) (local.get $y)) (f64x2.mul (local.get $cv) (local.get $x0))))
          (local.set $x0 (f64x2.sub (f64x2.mul (local.get $cv) (local.get $y)) (f64x2.mul (local.get $sv) (local.get $x0))))
          (local.set $p (local.get $q))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br $plain)))
        (v128.store offset=0 (local.get $p) (local.get $x0))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $cols))))

  ;; $tql2's selection sort (ascending, rows with their values) on one lane of tql2x2's layout (stride 16).
  (func $sortLane (param $v i32) (param $n i32) (param $d i32)
    (local $i i32) (local $j i32) (local $k i32) (local $m i32) (local $a i32) (local $b i32) (local $p f64) (local $x f64)
    (block $b6 (loop $lp6
      (br_if $b6 (i32.ge_s (local.get $i) (i32.sub (local.get $n) (i32.const 1))))
      (local.set $k (local.get $i))
      (local.set $p (f64.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 4)))))
      (local.set $j (i32.add (local.get $i) (i32.const 1)))
      (block $b7 (loop $lp7
        (br_if $b7 (i32.ge_s (local.get $j) (local.get $n)))
        (if (f64.lt (f64.load (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 4)))) (local.get $p))
          (then (local.set $k (local.get $j)) (local.set $p (f64.load (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 4)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $lp7)))
      (if (i32.ne (local.get $k) (local.get $i))
        (then
          (f64.store (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 4))) (f64.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 4)))))
          (f64.store (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 4))) (local.get $p))
          (local.set $m (i32.const 0))
          (block $b8 (loop $lp8
            (br_if $b8 (i32.ge_s (local.get $m) (local.get $n)))
            (local.set $a (i32.add (local.get $v) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $m)) (i32.const 4))))
            (local.set $b (i32.add (local.get $v) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $m)) (i32.const 4))))
            (local.set $x (f64.load (local.get $a)))
            (f64.store (local.get $a) (f64.load (local.get $b)))
            (f64.store (local.get $b) (local.get $x))
            (local.set $m (i32.add (local.get $m) (i32.const 1)))
            (br $lp8)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $lp6))))

  ;; Two positions' n×n Grams, tridiagonalised (v, d, e at $a and $b, stride 8), into tql2x2's lane pairs at $to.
  (func $interleave (param $a i32) (param $b i32) (param $to i32) (param $len i32)
    (local $t i32)
    (block $done (loop $next
      (br_if $done (i32.ge_s (local.get $t) (local.get $len)))
      (f64.store (i32.add (local.get $to) (i32.shl (local.get $t) (i32.const 4))) (f64.load (i32.add (local.get $a) (i32.shl (local.get $t) (i32.const 3)))))
      (f64.store offset=8 (i32.add (local.get $to) (i32.shl (local.get $t) (i32.const 4))) (f64.load (i32.add (local.get $b) (i32.shl (local.get $t) (i32.const 3)))))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $next))))

  ;; g = XXᵀ for the n×r rows at $x (fitPositions' Gram), each entry summed in order of k, two entries of a row
  ;; at a time (two independent sums).
  (func $gram (param $x i32) (param $n i32) (param $r i32) (param $g i32)
    (local $a i32) (local $b i32) (local $k i32) (local $ra i32) (local $rb i32) (local $rc i32) (local $rbytes i32)
    (local $s0 f64) (local $s1 f64) (local $xa f64) (local $ko i32)
    (local.set $rbytes (i32.shl (local.get $r) (i32.const 3)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $a) (local.get $n)))
        (local.set $ra (i32.add (local.get $x) (i32.mul (local.get $a) (local.get $rbytes))))
        (local.set $b (local.get $a))
        (block $pairs_done
          (loop $pairs
            (br_if $pairs_done (i32.gt_s (i32.add (local.get $b) (i32.const 2)) (local.get $n)))
            (local.set $rb (i32.add (local.get $x) (i32.mul (local.get $b) (local.get $rbytes))))
            (local.set $rc (i32.add (local.get $rb) (local.get $rbytes)))
            (local.set $s0 (f64.const 0))
            (local.set $s1 (f64.const 0))
            (local.set $k (i32.const 0))
            (block $k_done
              (loop $ks
                (br_if $k_done (i32.ge_s (local.get $k) (local.get $r)))
                (local.set $ko (i32.shl (local.get $k) (i32.const 3)))
                (local.set $xa (f64.load (i32.add (local.get $ra) (local.get $ko))))
                (local.set $s0 (f64.add (local.get $s0) (f64.mul (local.get $xa) (f64.load (i32.add (local.get $rb) (local.get $ko))))))
                (local.set $s1 (f64.add (local.get $s1) (f64.mul (local.get $xa) (f64.load (i32.add (local.get $rc) (local.get $ko))))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $ks)))
            (call $gramStore (local.get $g) (local.get $n) (local.get $a) (local.get $b) (local.get $s0))
            (call $gramStore (local.get $g) (local.get $n) (local.get $a) (i32.add (local.get $b) (i32.const 1)) (local.get $s1))
            (local.set $b (i32.add (local.get $b) (i32.const 2)))
            (br $pairs)))
        (if (i32.lt_s (local.get $b) (local.get $n))
          (then
            (local.set $rb (i32.add (local.get $x) (i32.mul (local.get $b) (local.get $rbytes))))
            (local.set $s0 (f64.const 0))
            (local.set $k (i32.const 0))
            (block $k_done
              (loop $ks
                (br_if $k_done (i32.ge_s (local.get $k) (local.get $r)))
                (local.set $ko (i32.shl (local.get $k) (i32.const 3)))
                (local.set $s0
                  (f64.add (local.get $s0)
                    (f64.mul (f64.load (i32.add (local.get $ra) (local.get $ko))) (f64.load (i32.add (local.get $rb) (local.get $ko))))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $ks)))
            (call $gramStore (local.get $g) (local.get $n) (local.get $a) (local.get $b) (local.get $s0))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $rows))))

  ;; g[a,b] = g[b,a] = s
  (func $gramStore (param $g i32) (param $n i32) (param $a i32) (param $b i32) (param $s f64)
    (f64.store (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (local.get $a) (local.get $n)) (local.get $b)) (i32.const 3))) (local.get $s))
    (f64.store (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (local.get $b) (local.get $n)) (local.get $a)) (i32.const 3))) (local.get $s)))
)
