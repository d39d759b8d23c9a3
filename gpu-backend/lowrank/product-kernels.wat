;; linalg.ts's float64 product c = a·b (b k×n, c m×n, row-major at byte offsets $b, $c; a's entry (i, p) at byte
;; $a + i·$rowa + p·$stepa, so a may be given transposed, for aᵀ·b without a transpose), two lanes
;; (f64x2) across adjacent columns of b and c. Each entry is summed over p in order from 0, one multiply and one
;; add per step (WebAssembly never fuses them), exactly as the JavaScript loop does, so the results are bitwise
;; the JavaScript's. Two rows of a by four columns of b per block (four accumulators), then one pair of columns;
;; the caller finishes an odd last row and an odd last column.
(module
  (memory (export "memory") 1)

  (func (export "product") (param $a i32) (param $rowa i32) (param $stepa i32) (param $b i32) (param $c i32)
    (param $m i32) (param $k i32) (param $n i32)
    (local $i i32) (local $j i32) (local $p i32)
    (local $a0 i32) (local $bp i32) (local $c0 i32) (local $c1 i32)
    (local $rowb i32) (local $ap i32)
    (local $x v128) (local $y v128) (local $u v128) (local $w v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local.set $rowb (i32.shl (local.get $n) (i32.const 3)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.gt_s (i32.add (local.get $i) (i32.const 2)) (local.get $m)))
        (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowa))))
        (local.set $c0 (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $rowb))))
        (local.set $c1 (i32.add (local.get $c0) (local.get $rowb)))
        (local.set $j (i32.const 0))
        (block $quads_done
          (loop $quads
            (br_if $quads_done (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
            (local.set $s00 (v128.const f64x2 0 0))
            (local.set $s01 (v128.const f64x2 0 0))
            (local.set $s10 (v128.const f64x2 0 0))
            (local.set $s11 (v128.const f64x2 0 0))
            (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
            (local.set $ap (local.get $a0))
            (local.set $p (i32.const 0))
            (block $dots_done
              (loop $dots
                (br_if $dots_done (i32.ge_s (local.get $p) (local.get $k)))
                (local.set $x (v128.load64_splat (local.get $ap)))
                (local.set $y (v128.load64_splat (i32.add (local.get $ap) (local.get $rowa))))
                (local.set $u (v128.load (local.get $bp)))
                (local.set $w (v128.load offset=16 (local.get $bp)))
                (local.set $s00 (f64x2.add (local.get $s00) (f64x2.mul (local.get $x) (local.get $u))))
                (local.set $s01 (f64x2.add (local.get $s01) (f64x2.mul (local.get $x) (local.get $w))))
                (local.set $s10 (f64x2.add (local.get $s10) (f64x2.mul (local.get $y) (local.get $u))))
                (local.set $s11 (f64x2.add (local.get $s11) (f64x2.mul (local.get $y) (local.get $w))))
                (local.set $bp (i32.add (local.get $bp) (local.get $rowb)))
                (local.set $ap (i32.add (local.get $ap) (local.get $stepa)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $dots)))
            (v128.store (i32.add (local.get $c0) (i32.shl (local.get $j) (i32.const 3))) (local.get $s00))
            (v128.store offset=16 (i32.add (local.get $c0) (i32.shl (local.get $j) (i32.const 3))) (local.get $s01))
            (v128.store (i32.add (local.get $c1) (i32.shl (local.get $j) (i32.const 3))) (local.get $s10))
            (v128.store offset=16 (i32.add (local.get $c1) (i32.shl (local.get $j) (i32.const 3))) (local.get $s11))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $quads)))
        (if (i32.le_s (i32.add (local.get $j) (i32.const 2)) (local.get $n))
          (then
            (local.set $s00 (v128.const f64x2 0 0))
            (local.set $s10 (v128.const f64x2 0 0))
            (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
            (local.set $ap (local.get $a0))
            (local.set $p (i32.const 0))
            (block $pair_done
              (loop $pair
                (br_if $pair_done (i32.ge_s (local.get $p) (local.get $k)))
                (local.set $u (v128.load (local.get $bp)))
                (local.set $s00 (f64x2.add (local.get $s00)
                  (f64x2.mul (v128.load64_splat (local.get $ap)) (local.get $u))))
                (local.set $s10 (f64x2.add (local.get $s10)
                  (f64x2.mul (v128.load64_splat (i32.add (local.get $ap) (local.get $rowa))) (local.get $u))))
                (local.set $bp (i32.add (local.get $bp) (local.get $rowb)))
                (local.set $ap (i32.add (local.get $ap) (local.get $stepa)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $pair)))
            (v128.store (i32.add (local.get $c0) (i32.shl (local.get $j) (i32.const 3))) (local.get $s00))
            (v128.store (i32.add (local.get $c1) (i32.shl (local.get $j) (i32.const 3))) (local.get $s10))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $rows)))))
