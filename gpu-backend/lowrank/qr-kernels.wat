;; linalg.ts's thin Householder QR, operation for operation, in WebAssembly SIMD. a (m×n) lies row-major at $a with a
;; row stride of $sa bytes, at least n + 1 values: the column past the last is scratch, so that the columns can go in
;; pairs (f64x2 lanes across adjacent columns) from any first column. Each reflector's dot products are summed over
;; the rows in order, one multiply and one add per step (WebAssembly never fuses them), and each update is the
;; JavaScript's d·v subtracted, so every value is bitwise the JavaScript's; only whole columns run side by side.
;; Eight columns at a time (four lanes' sums), then pairs.
(module
  (memory (export "memory") 1)

  ;; Σ v[i]·x[i, c..c+7] for i in [j, m), the four lanes' sums doubled: the dot products of one reflector with eight
  ;; columns, each summed in order, then x[i, c..c+7] −= d·v[i]. With $skip a lane whose sum is zero is left as it
  ;; was (Q's formation skips such a column).
  (func $block8 (param $x i32) (param $sx i32) (param $v i32) (param $j i32) (param $m i32) (param $skip i32)
    (local $i i32) (local $p i32) (local $vp i32) (local $s v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $z0 v128) (local $z1 v128) (local $z2 v128) (local $z3 v128)
    (local $old v128)
    (local.set $p (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $sx))))
    (local.set $vp (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3))))
    (local.set $i (local.get $j))
    (block $done
      (loop $dots
        (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $s (v128.load64_splat (local.get $vp)))
        (local.set $d0 (f64x2.add (local.get $d0) (f64x2.mul (local.get $s) (v128.load (local.get $p)))))
        (local.set $d1 (f64x2.add (local.get $d1) (f64x2.mul (local.get $s) (v128.load offset=16 (local.get $p)))))
        (local.set $d2 (f64x2.add (local.get $d2) (f64x2.mul (local.get $s) (v128.load offset=32 (local.get $p)))))
        (local.set $d3 (f64x2.add (local.get $d3) (f64x2.mul (local.get $s) (v128.load offset=48 (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (local.get $sx)))
        (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $dots)))
    ;; A lane to skip keeps its value through a mask of all ones (none without $skip).
    (if (local.get $skip)
      (then
        (local.set $z0 (f64x2.eq (local.get $d0) (v128.const f64x2 0 0)))
        (local.set $z1 (f64x2.eq (local.get $d1) (v128.const f64x2 0 0)))
        (local.set $z2 (f64x2.eq (local.get $d2) (v128.const f64x2 0 0)))
        (local.set $z3 (f64x2.eq (local.get $d3) (v128.const f64x2 0 0)))))
    (local.set $d0 (f64x2.mul (local.get $d0) (v128.const f64x2 2 2)))
    (local.set $d1 (f64x2.mul (local.get $d1) (v128.const f64x2 2 2)))
    (local.set $d2 (f64x2.mul (local.get $d2) (v128.const f64x2 2 2)))
    (local.set $d3 (f64x2.mul (local.get $d3) (v128.const f64x2 2 2)))
    (local.set $p (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $sx))))
    (local.set $vp (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3))))
    (local.set $i (local.get $j))
    (block $done
      (loop $update
        (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $s (v128.load64_splat (local.get $vp)))
        (local.set $old (v128.load (local.get $p)))
        (v128.store (local.get $p) (v128.bitselect (local.get $old)
          (f64x2.sub (local.get $old) (f64x2.mul (local.get $d0) (local.get $s))) (local.get $z0)))
        (local.set $old (v128.load offset=16 (local.get $p)))
        (v128.store offset=16 (local.get $p) (v128.bitselect (local.get $old)
          (f64x2.sub (local.get $old) (f64x2.mul (local.get $d1) (local.get $s))) (local.get $z1)))
        (local.set $old (v128.load offset=32 (local.get $p)))
        (v128.store offset=32 (local.get $p) (v128.bitselect (local.get $old)
          (f64x2.sub (local.get $old) (f64x2.mul (local.get $d2) (local.get $s))) (local.get $z2)))
        (local.set $old (v128.load offset=48 (local.get $p)))
        (v128.store offset=48 (local.get $p) (v128.bitselect (local.get $old)
          (f64x2.sub (local.get $old) (f64x2.mul (local.get $d3) (local.get $s))) (local.get $z3)))
        (local.set $p (i32.add (local.get $p) (local.get $sx)))
        (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $update))))

  ;; $block8 for two columns.
  (func $pair (param $x i32) (param $sx i32) (param $v i32) (param $j i32) (param $m i32) (param $skip i32)
    (local $i i32) (local $p i32) (local $vp i32) (local $s v128) (local $d v128) (local $z v128) (local $old v128)
    (local.set $p (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $sx))))
    (local.set $vp (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3))))
    (local.set $i (local.get $j))
    (block $done
      (loop $dots
        (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $d (f64x2.add (local.get $d)
          (f64x2.mul (v128.load64_splat (local.get $vp)) (v128.load (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (local.get $sx)))
        (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $dots)))
    (if (local.get $skip) (then (local.set $z (f64x2.eq (local.get $d) (v128.const f64x2 0 0)))))
    (local.set $d (f64x2.mul (local.get $d) (v128.const f64x2 2 2)))
    (local.set $p (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $sx))))
    (local.set $vp (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3))))
    (local.set $i (local.get $j))
    (block $done
      (loop $update
        (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $s (v128.load64_splat (local.get $vp)))
        (local.set $old (v128.load (local.get $p)))
        (v128.store (local.get $p) (v128.bitselect (local.get $old)
          (f64x2.sub (local.get $old) (f64x2.mul (local.get $d) (local.get $s))) (local.get $z)))
        (local.set $p (i32.add (local.get $p) (local.get $sx)))
        (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $update))))

  ;; The reflector v (at $v, m values, rows [j, m)) applied to columns [j, n) of x (stride $sx bytes, a scratch
  ;; column at n).
  (func $apply (param $x i32) (param $sx i32) (param $v i32) (param $j i32) (param $m i32) (param $n i32) (param $skip i32)
    (local $c i32)
    (local.set $c (local.get $j))
    (block $done
      (loop $eights
        (br_if $done (i32.gt_s (i32.add (local.get $c) (i32.const 8)) (local.get $n)))
        (call $block8 (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 3))) (local.get $sx) (local.get $v)
          (local.get $j) (local.get $m) (local.get $skip))
        (local.set $c (i32.add (local.get $c) (i32.const 8)))
        (br $eights)))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_s (local.get $c) (local.get $n)))
        (call $pair (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 3))) (local.get $sx) (local.get $v)
          (local.get $j) (local.get $m) (local.get $skip))
        (local.set $c (i32.add (local.get $c) (i32.const 2)))
        (br $pairs))))

  ;; Householder reflectors of a (m×n at $a, stride $sa), k = min(m, n) of them into $vs (row j at $vs + 8·j·m,
  ;; zeroed by the caller: a column of zero norm leaves its row zero); a becomes R in its upper triangle.
  (func (export "factor") (param $a i32) (param $sa i32) (param $m i32) (param $n i32) (param $vs i32)
    (local $j i32) (local $k i32) (local $i i32) (local $col i32) (local $v i32) (local $x f64)
    (local $norm f64) (local $alpha f64) (local $vn f64)
    (local.set $k (select (local.get $m) (local.get $n) (i32.lt_s (local.get $m) (local.get $n))))
    (block $done
      (loop $columns
        (br_if $done (i32.ge_s (local.get $j) (local.get $k)))
        (block $next
          ;; column j at row i: $col + i·$sa
          (local.set $col (i32.add (local.get $a) (i32.shl (local.get $j) (i32.const 3))))
          (local.set $v (i32.add (local.get $vs) (i32.shl (i32.mul (local.get $j) (local.get $m)) (i32.const 3))))
          (local.set $norm (f64.const 0))
          (local.set $i (local.get $j))
          (block $d (loop $l
            (br_if $d (i32.ge_s (local.get $i) (local.get $m)))
            (local.set $x (f64.load (i32.add (local.get $col) (i32.mul (local.get $i) (local.get $sa)))))
            (local.set $norm (f64.add (local.get $norm) (f64.mul (local.get $x) (local.get $x))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
          (local.set $norm (f64.sqrt (local.get $norm)))
          (br_if $next (f64.eq (local.get $norm) (f64.const 0)))
          (local.set $alpha
            (select (f64.neg (local.get $norm)) (local.get $norm)
              (f64.gt (f64.load (i32.add (local.get $col) (i32.mul (local.get $j) (local.get $sa)))) (f64.const 0))))
          (local.set $i (local.get $j))
          (block $d (loop $l
            (br_if $d (i32.ge_s (local.get $i) (local.get $m)))
            (f64.store (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3)))
              (f64.load (i32.add (local.get $col) (i32.mul (local.get $i) (local.get $sa)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
          (local.set $x (f64.load (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3)))))
          (f64.store (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3))) (f64.sub (local.get $x) (local.get $alpha)))
          (local.set $vn (f64.const 0))
          (local.set $i (local.get $j))
          (block $d (loop $l
            (br_if $d (i32.ge_s (local.get $i) (local.get $m)))
            (local.set $x (f64.load (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $vn (f64.add (local.get $vn) (f64.mul (local.get $x) (local.get $x))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
          (local.set $vn (f64.sqrt (local.get $vn)))
          (br_if $next (f64.eq (local.get $vn) (f64.const 0)))
          (local.set $i (local.get $j))
          (block $d (loop $l
            (br_if $d (i32.ge_s (local.get $i) (local.get $m)))
            (f64.store (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3)))
              (f64.div (f64.load (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3)))) (local.get $vn)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
          (call $apply (local.get $a) (local.get $sa) (local.get $v) (local.get $j) (local.get $m) (local.get $n) (i32.const 0)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $columns))))

  ;; Q (m×k at $q, stride $sq, a scratch column at k) from the first k columns of the identity (set by the caller),
  ;; the reflectors applied backwards, each to the columns it can change (c ≥ j), a column with a zero dot product
  ;; left alone as the JavaScript skips it.
  (func (export "formQ") (param $q i32) (param $sq i32) (param $m i32) (param $k i32) (param $vs i32)
    (local $j i32)
    (local.set $j (i32.sub (local.get $k) (i32.const 1)))
    (block $done
      (loop $reflectors
        (br_if $done (i32.lt_s (local.get $j) (i32.const 0)))
        (call $apply (local.get $q) (local.get $sq)
          (i32.add (local.get $vs) (i32.shl (i32.mul (local.get $j) (local.get $m)) (i32.const 3)))
          (local.get $j) (local.get $m) (local.get $k) (i32.const 1))
        (local.set $j (i32.sub (local.get $j) (i32.const 1)))
        (br $reflectors)))))
