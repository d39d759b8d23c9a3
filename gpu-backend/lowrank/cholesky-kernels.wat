;; gram-factor.ts's two N³/6 loops, operation for operation, in WebAssembly SIMD: a row of the pivoted Cholesky less
;; the rows above it, and a row of R₁₁⁻¹. Rows are laid out with a stride of at least 8 values past the last column,
;; so that eight columns (four f64x2 lanes) can go side by side from any first column; the lanes past the last
;; column are scratch. Each entry gets the JavaScript's updates, a − f·b one at a time in the same order (WebAssembly
;; never fuses them), with the same skips of a zero f, so every value is bitwise the JavaScript's.
(module
  (memory (export "memory") 1)

  ;; Row q of rs (stride $sr bytes), columns (q, n): rs[q][j] −= f·rs[t][j] with f = rs[t][q], for t = 0 … q−1
  ;; in order, a zero f skipped. Eight columns held in registers while t runs.
  (func (export "eliminate") (param $rs i32) (param $sr i32) (param $q i32) (param $n i32)
    (local $j i32) (local $t i32) (local $at i32) (local $from i32) (local $f f64) (local $fs v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $j (i32.add (local.get $q) (i32.const 1)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $at (i32.add (i32.add (local.get $rs) (i32.mul (local.get $q) (local.get $sr)))
          (i32.shl (local.get $j) (i32.const 3))))
        (local.set $s0 (v128.load (local.get $at)))
        (local.set $s1 (v128.load offset=16 (local.get $at)))
        (local.set $s2 (v128.load offset=32 (local.get $at)))
        (local.set $s3 (v128.load offset=48 (local.get $at)))
        (local.set $t (i32.const 0))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_s (local.get $t) (local.get $q)))
            (local.set $from (i32.add (local.get $rs) (i32.mul (local.get $t) (local.get $sr))))
            (local.set $f (f64.load (i32.add (local.get $from) (i32.shl (local.get $q) (i32.const 3)))))
            (if (f64.ne (local.get $f) (f64.const 0))
              (then
                (local.set $fs (f64x2.splat (local.get $f)))
                (local.set $from (i32.add (local.get $from) (i32.shl (local.get $j) (i32.const 3))))
                (local.set $s0 (f64x2.sub (local.get $s0) (f64x2.mul (local.get $fs) (v128.load (local.get $from)))))
                (local.set $s1 (f64x2.sub (local.get $s1) (f64x2.mul (local.get $fs) (v128.load offset=16 (local.get $from)))))
                (local.set $s2 (f64x2.sub (local.get $s2) (f64x2.mul (local.get $fs) (v128.load offset=32 (local.get $from)))))
                (local.set $s3 (f64x2.sub (local.get $s3) (f64x2.mul (local.get $fs) (v128.load offset=48 (local.get $from)))))))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $rows)))
        (v128.store (local.get $at) (local.get $s0))
        (v128.store offset=16 (local.get $at) (local.get $s1))
        (v128.store offset=32 (local.get $at) (local.get $s2))
        (v128.store offset=48 (local.get $at) (local.get $s3))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $blocks))))

  ;; Row i of X = R₁₁⁻¹ (inv, stride $sx bytes, rows below i done, row i zero): X[i][i] = 1, then for j = i+1 … q−1
  ;; in order X[i][c] −= f·X[j][c] for c ≥ j with f = R[i][j] (rs, stride $sr), a zero f skipped, then X[i][c] /=
  ;; R[i][i] for c ≥ i. Per block of eight columns [c0, c0+8): the rows j ≤ c0 touch all eight (in registers), the
  ;; rows j in (c0, c0+8) only the columns c ≥ j (one value at a time, in memory, after them: j still ascends).
  (func (export "invertRow") (param $rs i32) (param $sr i32) (param $inv i32) (param $sx i32) (param $i i32) (param $q i32)
    (local $c0 i32) (local $j i32) (local $c i32) (local $last i32) (local $ri i32) (local $xi i32) (local $at i32)
    (local $from i32) (local $f f64) (local $fs v128) (local $pivot v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $ri (i32.add (local.get $rs) (i32.mul (local.get $i) (local.get $sr))))
    (local.set $xi (i32.add (local.get $inv) (i32.mul (local.get $i) (local.get $sx))))
    (f64.store (i32.add (local.get $xi) (i32.shl (local.get $i) (i32.const 3))) (f64.const 1))
    (local.set $pivot (v128.load64_splat (i32.add (local.get $ri) (i32.shl (local.get $i) (i32.const 3)))))
    (local.set $c0 (local.get $i))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_s (local.get $c0) (local.get $q)))
        (local.set $at (i32.add (local.get $xi) (i32.shl (local.get $c0) (i32.const 3))))
        (local.set $s0 (v128.load (local.get $at)))
        (local.set $s1 (v128.load offset=16 (local.get $at)))
        (local.set $s2 (v128.load offset=32 (local.get $at)))
        (local.set $s3 (v128.load offset=48 (local.get $at)))
        ;; Rows j in (i, min(c0, q−1)]: every column of the block has c ≥ j.
        (local.set $last (select (local.get $c0) (i32.sub (local.get $q) (i32.const 1))
          (i32.lt_s (local.get $c0) (i32.sub (local.get $q) (i32.const 1)))))
        (local.set $j (i32.add (local.get $i) (i32.const 1)))
        (block $full_done
          (loop $full
            (br_if $full_done (i32.gt_s (local.get $j) (local.get $last)))
            (local.set $f (f64.load (i32.add (local.get $ri) (i32.shl (local.get $j) (i32.const 3)))))
            (if (f64.ne (local.get $f) (f64.const 0))
              (then
                (local.set $fs (f64x2.splat (local.get $f)))
                (local.set $from (i32.add (i32.add (local.get $inv) (i32.mul (local.get $j) (local.get $sx)))
                  (i32.shl (local.get $c0) (i32.const 3))))
                (local.set $s0 (f64x2.sub (local.get $s0) (f64x2.mul (local.get $fs) (v128.load (local.get $from)))))
                (local.set $s1 (f64x2.sub (local.get $s1) (f64x2.mul (local.get $fs) (v128.load offset=16 (local.get $from)))))
                (local.set $s2 (f64x2.sub (local.get $s2) (f64x2.mul (local.get $fs) (v128.load offset=32 (local.get $from)))))
                (local.set $s3 (f64x2.sub (local.get $s3) (f64x2.mul (local.get $fs) (v128.load offset=48 (local.get $from)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $full)))
        (v128.store (local.get $at) (local.get $s0))
        (v128.store offset=16 (local.get $at) (local.get $s1))
        (v128.store offset=32 (local.get $at) (local.get $s2))
        (v128.store offset=48 (local.get $at) (local.get $s3))
        ;; Rows j in (c0, c0+8), j < q: the columns c in [j, c0+8) of the block, one at a time.
        (local.set $j (i32.add (local.get $c0) (i32.const 1)))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_s (local.get $j) (local.get $q)))
            (br_if $tail_done (i32.ge_s (local.get $j) (i32.add (local.get $c0) (i32.const 8))))
            (local.set $f (f64.load (i32.add (local.get $ri) (i32.shl (local.get $j) (i32.const 3)))))
            (if (f64.ne (local.get $f) (f64.const 0))
              (then
                (local.set $from (i32.add (local.get $inv) (i32.mul (local.get $j) (local.get $sx))))
                (local.set $c (local.get $j))
                (block $cols_done
                  (loop $cols
                    (br_if $cols_done (i32.ge_s (local.get $c) (i32.add (local.get $c0) (i32.const 8))))
                    (f64.store (i32.add (local.get $xi) (i32.shl (local.get $c) (i32.const 3)))
                      (f64.sub (f64.load (i32.add (local.get $xi) (i32.shl (local.get $c) (i32.const 3))))
                        (f64.mul (local.get $f) (f64.load (i32.add (local.get $from) (i32.shl (local.get $c) (i32.const 3)))))))
                    (local.set $c (i32.add (local.get $c) (i32.const 1)))
                    (br $cols)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (v128.store (local.get $at) (f64x2.div (v128.load (local.get $at)) (local.get $pivot)))
        (v128.store offset=16 (local.get $at) (f64x2.div (v128.load offset=16 (local.get $at)) (local.get $pivot)))
        (v128.store offset=32 (local.get $at) (f64x2.div (v128.load offset=32 (local.get $at)) (local.get $pivot)))
        (v128.store offset=48 (local.get $at) (f64x2.div (v128.load offset=48 (local.get $at)) (local.get $pivot)))
        (local.set $c0 (i32.add (local.get $c0) (i32.const 8)))
        (br $blocks)))))
