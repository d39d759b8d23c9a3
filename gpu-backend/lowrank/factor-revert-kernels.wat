;; factor-revert.ts's rebuild of one task over a module family's float32 stacks: per position (row of B, column of
;; A) μ + Σⱼ C[task, j]·Vⱼ, in float32 as the runtime's graph computed it ((Σⱼ cⱼ·Vⱼ) + μ, j in order), four k at a
;; time in the lanes of f32x4. An instance per family: its memory holds the family's stacks for the merge's life.
(module
  (memory (export "memory") 1)

  ;; L·P positions (l, q), position pos = l·P + q: μ (r floats) at $mu + 4·pos·r, V (p×r) at $basis + 4·pos·p·r,
  ;; C (n×p) at $coef + 4·pos·n·p. Out at $out: B's layout [L, P, r] where $transposed is 0, else A's [L, r, P].
  (func (export "rebuild") (param $mu i32) (param $basis i32) (param $coef i32) (param $out i32)
    (param $L i32) (param $P i32) (param $r i32) (param $p i32) (param $n i32) (param $task i32) (param $transposed i32)
    (local $l i32) (local $q i32) (local $k i32) (local $j i32) (local $m i32) (local $v i32) (local $c i32)
    (local $o i32) (local $t i32) (local $rb i32) (local $pb i32) (local $col i32) (local $acc v128) (local $s f32)
    (local.set $rb (i32.shl (local.get $r) (i32.const 2)))
    (local.set $pb (i32.shl (local.get $P) (i32.const 2)))
    (local.set $m (local.get $mu))
    (local.set $v (local.get $basis))
    (local.set $c (i32.add (local.get $coef) (i32.shl (i32.mul (local.get $task) (local.get $p)) (i32.const 2))))
    (block $bl (loop $ll
      (br_if $bl (i32.ge_s (local.get $l) (local.get $L)))
      (local.set $q (i32.const 0))
      (block $bq (loop $lq
        (br_if $bq (i32.ge_s (local.get $q) (local.get $P)))
        ;; B: this position's row of out; A: its column (element k at $col + k·4P)
        (local.set $o (i32.add (local.get $out) (i32.mul (i32.add (i32.mul (local.get $l) (local.get $P)) (local.get $q)) (local.get $rb))))
        (local.set $col (i32.add (local.get $out)
          (i32.shl (i32.add (i32.mul (i32.mul (local.get $l) (local.get $r)) (local.get $P)) (local.get $q)) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $bk (loop $lk
          (br_if $bk (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $r)))
          (local.set $acc
            (f32x4.mul (v128.load32_splat (local.get $c)) (v128.load (i32.add (local.get $v) (i32.shl (local.get $k) (i32.const 2))))))
          (local.set $j (i32.const 1))
          (block $bj (loop $lj
            (br_if $bj (i32.ge_s (local.get $j) (local.get $p)))
            (local.set $acc
              (f32x4.add (local.get $acc)
                (f32x4.mul
                  (v128.load32_splat (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
                  (v128.load (i32.add (local.get $v) (i32.add (i32.mul (local.get $j) (local.get $rb)) (i32.shl (local.get $k) (i32.const 2))))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $lj)))
          (local.set $acc (f32x4.add (local.get $acc) (v128.load (i32.add (local.get $m) (i32.shl (local.get $k) (i32.const 2))))))
          (if (i32.eqz (local.get $transposed))
            (then (v128.store (i32.add (local.get $o) (i32.shl (local.get $k) (i32.const 2))) (local.get $acc)))
            (else
              (local.set $t (i32.add (local.get $col) (i32.mul (local.get $k) (local.get $pb))))
              (f32.store (local.get $t) (f32x4.extract_lane 0 (local.get $acc)))
              (f32.store (i32.add (local.get $t) (local.get $pb)) (f32x4.extract_lane 1 (local.get $acc)))
              (f32.store (i32.add (local.get $t) (i32.shl (local.get $pb) (i32.const 1))) (f32x4.extract_lane 2 (local.get $acc)))
              (f32.store (i32.add (local.get $t) (i32.mul (local.get $pb) (i32.const 3))) (f32x4.extract_lane 3 (local.get $acc)))))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br $lk)))
        ;; r mod 4 last k, one at a time, in the same order
        (block $bt (loop $lt
          (br_if $bt (i32.ge_s (local.get $k) (local.get $r)))
          (local.set $s (f32.mul (f32.load (local.get $c)) (f32.load (i32.add (local.get $v) (i32.shl (local.get $k) (i32.const 2))))))
          (local.set $j (i32.const 1))
          (block $bj (loop $lj
            (br_if $bj (i32.ge_s (local.get $j) (local.get $p)))
            (local.set $s
              (f32.add (local.get $s)
                (f32.mul
                  (f32.load (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
                  (f32.load (i32.add (local.get $v) (i32.add (i32.mul (local.get $j) (local.get $rb)) (i32.shl (local.get $k) (i32.const 2))))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $lj)))
          (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $m) (i32.shl (local.get $k) (i32.const 2))))))
          (if (i32.eqz (local.get $transposed))
            (then (f32.store (i32.add (local.get $o) (i32.shl (local.get $k) (i32.const 2))) (local.get $s)))
            (else (f32.store (i32.add (local.get $col) (i32.mul (local.get $k) (local.get $pb))) (local.get $s))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $lt)))
        (local.set $m (i32.add (local.get $m) (local.get $rb)))
        (local.set $v (i32.add (local.get $v) (i32.mul (local.get $p) (local.get $rb))))
        (local.set $c (i32.add (local.get $c) (i32.shl (i32.mul (local.get $n) (local.get $p)) (i32.const 2))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $lq)))
      (local.set $l (i32.add (local.get $l) (i32.const 1)))
      (br $ll))))
)
