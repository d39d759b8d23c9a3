;; TIES' element-wise passes over one block of a module's n stacked deltas (float32, member-major: member i's
;; plane of p values at d + 4·i·p), four values per instruction (WebAssembly SIMD). See ties-kernels.ts.
(module
  (import "env" "memory" (memory 1))

  ;; Per member, at params + 48·i: lo (f32x4), hi (f32x4), then written here: the count of magnitudes above hi
  ;; (i32 at +32) and the end of the member's entries in the lists (i32 at +36). For every magnitude in [lo, hi]
  ;; the lists hold the magnitude (f32 at values + 4·e) and its position, base + its index in the plane (i32 at
  ;; positions + 4·e). Returns the number of listed entries.
  (func (export "stats")
    (param $n i32) (param $p i32) (param $d i32) (param $params i32) (param $values i32) (param $positions i32) (param $base i32)
    (result i32)
    (local $i i32) (local $j i32) (local $at i32) (local $e i32) (local $q i32) (local $list i32)
    (local $lo v128) (local $hi v128) (local $m v128) (local $in v128) (local $over v128) (local $pos v128)
    (local $end v128) (local $step v128)
    (local.set $end (i32x4.splat (local.get $p)))
    (local.set $step (i32x4.splat (i32.const 4)))
    (local.set $list (local.get $values))
    (local.set $e (local.get $values))
    ;; Positions are written at the same offset from `positions` as the values from `values`.
    (local.set $positions (i32.sub (local.get $positions) (local.get $values)))
    (block $members
      (loop $member
        (br_if $members (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $q (i32.add (local.get $params) (i32.mul (local.get $i) (i32.const 48))))
        (local.set $lo (v128.load (local.get $q)))
        (local.set $hi (v128.load offset=16 (local.get $q)))
        (local.set $over (v128.const i32x4 0 0 0 0))
        (local.set $pos (v128.const i32x4 0 1 2 3))
        (local.set $at (i32.add (local.get $d) (i32.mul (i32.mul (local.get $i) (local.get $p)) (i32.const 4))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $values
            (br_if $done (i32.ge_u (local.get $j) (local.get $p)))
            (local.set $m (f32x4.abs (v128.load (local.get $at))))
            ;; Lanes past the plane's end (its last vector) read the next plane: they count for nothing.
            (local.set $in (i32x4.lt_s (local.get $pos) (local.get $end)))
            (local.set $over (i32x4.sub (local.get $over) (v128.and (f32x4.gt (local.get $m) (local.get $hi)) (local.get $in))))
            (local.set $in
              (v128.and (local.get $in) (v128.and (f32x4.ge (local.get $m) (local.get $lo)) (f32x4.le (local.get $m) (local.get $hi)))))
            (if (v128.any_true (local.get $in))
              (then
                (if (i32x4.extract_lane 0 (local.get $in))
                  (then
                    (f32.store (local.get $e) (f32x4.extract_lane 0 (local.get $m)))
                    (i32.store (i32.add (local.get $e) (local.get $positions)) (i32.add (local.get $base) (local.get $j)))
                    (local.set $e (i32.add (local.get $e) (i32.const 4)))))
                (if (i32x4.extract_lane 1 (local.get $in))
                  (then
                    (f32.store (local.get $e) (f32x4.extract_lane 1 (local.get $m)))
                    (i32.store (i32.add (local.get $e) (local.get $positions)) (i32.add (local.get $base) (i32.add (local.get $j) (i32.const 1))))
                    (local.set $e (i32.add (local.get $e) (i32.const 4)))))
                (if (i32x4.extract_lane 2 (local.get $in))
                  (then
                    (f32.store (local.get $e) (f32x4.extract_lane 2 (local.get $m)))
                    (i32.store (i32.add (local.get $e) (local.get $positions)) (i32.add (local.get $base) (i32.add (local.get $j) (i32.const 2))))
                    (local.set $e (i32.add (local.get $e) (i32.const 4)))))
                (if (i32x4.extract_lane 3 (local.get $in))
                  (then
                    (f32.store (local.get $e) (f32x4.extract_lane 3 (local.get $m)))
                    (i32.store (i32.add (local.get $e) (local.get $positions)) (i32.add (local.get $base) (i32.add (local.get $j) (i32.const 3))))
                    (local.set $e (i32.add (local.get $e) (i32.const 4)))))))
            (local.set $pos (i32x4.add (local.get $pos) (local.get $step)))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $values)))
        (i32.store offset=32 (local.get $q)
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $over)) (i32x4.extract_lane 1 (local.get $over)))
            (i32.add (i32x4.extract_lane 2 (local.get $over)) (i32x4.extract_lane 3 (local.get $over)))))
        (i32.store offset=36 (local.get $q) (i32.shr_u (i32.sub (local.get $e) (local.get $list)) (i32.const 2)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $member)))
    (i32.shr_u (i32.sub (local.get $e) (local.get $list)) (i32.const 2)))

  ;; Per member, at params + 64·i: the threshold t, the next float32 above it, the cut (i32: positions before it
  ;; keep magnitudes equal to t, positions from it on only those above t) and the weight, each splat to four lanes.
  ;; Writes the merged plane: the elected sign is that of the sum of the trimmed values (+ where it is 0), and each
  ;; value the weighted sum of the trimmed values of that sign over their count (1 where there are none).
  (func (export "combine") (param $n i32) (param $p i32) (param $d i32) (param $params i32) (param $out i32)
    (local $i i32) (local $j i32) (local $q i32) (local $at i32)
    (local $pos v128) (local $step v128) (local $x v128) (local $k v128) (local $wk v128) (local $plus v128) (local $minus v128)
    (local $total v128) (local $sumPlus v128) (local $sumMinus v128) (local $countPlus v128) (local $countMinus v128)
    (local $elected v128)
    (local.set $pos (v128.const i32x4 0 1 2 3))
    (local.set $step (i32x4.splat (i32.const 4)))
    (block $done
      (loop $values
        (br_if $done (i32.ge_u (local.get $j) (local.get $p)))
        (local.set $total (v128.const i32x4 0 0 0 0))
        (local.set $sumPlus (v128.const i32x4 0 0 0 0))
        (local.set $sumMinus (v128.const i32x4 0 0 0 0))
        (local.set $countPlus (v128.const i32x4 0 0 0 0))
        (local.set $countMinus (v128.const i32x4 0 0 0 0))
        (local.set $q (local.get $params))
        (local.set $at (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $i (i32.const 0))
        (block $members
          (loop $member
            (br_if $members (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $x (v128.load (local.get $at)))
            (local.set $k
              (v128.and
                (local.get $x)
                (f32x4.ge
                  (f32x4.abs (local.get $x))
                  (v128.bitselect
                    (v128.load (local.get $q))
                    (v128.load offset=16 (local.get $q))
                    (i32x4.lt_s (local.get $pos) (v128.load offset=32 (local.get $q)))))))
            (local.set $total (f32x4.add (local.get $total) (local.get $k)))
            (local.set $wk (f32x4.mul (local.get $k) (v128.load offset=48 (local.get $q))))
            (local.set $plus (f32x4.gt (local.get $k) (v128.const f32x4 0 0 0 0)))
            (local.set $minus (f32x4.lt (local.get $k) (v128.const f32x4 0 0 0 0)))
            (local.set $sumPlus (f32x4.add (local.get $sumPlus) (v128.and (local.get $wk) (local.get $plus))))
            (local.set $sumMinus (f32x4.add (local.get $sumMinus) (v128.and (local.get $wk) (local.get $minus))))
            (local.set $countPlus (i32x4.sub (local.get $countPlus) (local.get $plus)))
            (local.set $countMinus (i32x4.sub (local.get $countMinus) (local.get $minus)))
            (local.set $q (i32.add (local.get $q) (i32.const 64)))
            (local.set $at (i32.add (local.get $at) (i32.shl (local.get $p) (i32.const 2))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $member)))
        (local.set $elected (f32x4.ge (local.get $total) (v128.const f32x4 0 0 0 0)))
        (v128.store
          (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
          (f32x4.div
            (v128.bitselect (local.get $sumPlus) (local.get $sumMinus) (local.get $elected))
            (f32x4.max
              (f32x4.convert_i32x4_s (v128.bitselect (local.get $countPlus) (local.get $countMinus) (local.get $elected)))
              (v128.const f32x4 1 1 1 1))))
        (local.set $pos (i32x4.add (local.get $pos) (local.get $step)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $values))))
  ;; Both passes in one, for brackets that hold (ties-runtime.ts resolves the rest once the thresholds are known).
  ;; Per member, at params + 80·i: lo, hi and the weight (f32x4 each), the count of magnitudes above hi (i32x4 at
  ;; +48, accumulated) and the length of its list (i32 at +64, accumulated). A magnitude above hi is kept, one below
  ;; lo dropped, and one inside [lo, hi] is unsure: its signed value and its position (base + index in the plane)
  ;; go to the member's list (values f32 at lists + 8·cap·i + 4·e, positions i32 at 4·cap past them). Writes the
  ;; merged plane from the sure values; for each position with an unsure member, a record of 24 bytes at pending:
  ;; position (i32), the sure values' total, weighted sums of the + and − ones (f32) and their counts (i32).
  ;; Returns the number of records.
  (func (export "fused")
    (param $n i32) (param $p i32) (param $d i32) (param $params i32) (param $out i32) (param $lists i32) (param $cap i32)
    (param $pending i32) (param $base i32) (result i32)
    (local $i i32) (local $j i32) (local $q i32) (local $at i32) (local $li i32) (local $e i32) (local $rec i32)
    (local $capBytes i32)
    (local $pos v128) (local $step v128) (local $end v128) (local $valid v128) (local $x v128) (local $m v128)
    (local $over v128) (local $in v128) (local $unsure v128) (local $k v128) (local $wk v128) (local $plus v128)
    (local $minus v128) (local $total v128) (local $sumPlus v128) (local $sumMinus v128) (local $countPlus v128)
    (local $countMinus v128) (local $elected v128)
    (local.set $pos (v128.const i32x4 0 1 2 3))
    (local.set $step (i32x4.splat (i32.const 4)))
    (local.set $end (i32x4.splat (local.get $p)))
    (local.set $capBytes (i32.shl (local.get $cap) (i32.const 2)))
    (local.set $rec (local.get $pending))
    (block $done
      (loop $values
        (br_if $done (i32.ge_u (local.get $j) (local.get $p)))
        (local.set $valid (i32x4.lt_s (local.get $pos) (local.get $end)))
        (local.set $total (v128.const i32x4 0 0 0 0))
        (local.set $sumPlus (v128.const i32x4 0 0 0 0))
        (local.set $sumMinus (v128.const i32x4 0 0 0 0))
        (local.set $countPlus (v128.const i32x4 0 0 0 0))
        (local.set $countMinus (v128.const i32x4 0 0 0 0))
        (local.set $unsure (v128.const i32x4 0 0 0 0))
        (local.set $q (local.get $params))
        (local.set $li (local.get $lists))
        (local.set $at (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $i (i32.const 0))
        (block $members
          (loop $member
            (br_if $members (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $x (v128.load (local.get $at)))
            (local.set $m (f32x4.abs (local.get $x)))
            (local.set $over (v128.and (f32x4.gt (local.get $m) (v128.load offset=16 (local.get $q))) (local.get $valid)))
            (v128.store offset=48 (local.get $q) (i32x4.sub (v128.load offset=48 (local.get $q)) (local.get $over)))
            (local.set $k (v128.and (local.get $x) (local.get $over)))
            (local.set $total (f32x4.add (local.get $total) (local.get $k)))
            (local.set $wk (f32x4.mul (local.get $k) (v128.load offset=32 (local.get $q))))
            (local.set $plus (f32x4.gt (local.get $k) (v128.const f32x4 0 0 0 0)))
            (local.set $minus (f32x4.lt (local.get $k) (v128.const f32x4 0 0 0 0)))
            (local.set $sumPlus (f32x4.add (local.get $sumPlus) (v128.and (local.get $wk) (local.get $plus))))
            (local.set $sumMinus (f32x4.add (local.get $sumMinus) (v128.and (local.get $wk) (local.get $minus))))
            (local.set $countPlus (i32x4.sub (local.get $countPlus) (local.get $plus)))
            (local.set $countMinus (i32x4.sub (local.get $countMinus) (local.get $minus)))
            (local.set $in
              (v128.and
                (local.get $valid)
                (v128.and (f32x4.ge (local.get $m) (v128.load (local.get $q))) (f32x4.le (local.get $m) (v128.load offset=16 (local.get $q))))))
            (if (v128.any_true (local.get $in))
              (then
                (local.set $unsure (v128.or (local.get $unsure) (local.get $in)))
                (if (i32x4.extract_lane 0 (local.get $in))
                  (then
                    (local.set $e (i32.load offset=64 (local.get $q)))
                    (f32.store (i32.add (local.get $li) (i32.shl (local.get $e) (i32.const 2))) (f32x4.extract_lane 0 (local.get $x)))
                    (i32.store (i32.add (i32.add (local.get $li) (local.get $capBytes)) (i32.shl (local.get $e) (i32.const 2)))
                      (i32.add (local.get $base) (local.get $j)))
                    (i32.store offset=64 (local.get $q) (i32.add (local.get $e) (i32.const 1)))))
                (if (i32x4.extract_lane 1 (local.get $in))
                  (then
                    (local.set $e (i32.load offset=64 (local.get $q)))
                    (f32.store (i32.add (local.get $li) (i32.shl (local.get $e) (i32.const 2))) (f32x4.extract_lane 1 (local.get $x)))
                    (i32.store (i32.add (i32.add (local.get $li) (local.get $capBytes)) (i32.shl (local.get $e) (i32.const 2)))
                      (i32.add (local.get $base) (i32.add (local.get $j) (i32.const 1))))
                    (i32.store offset=64 (local.get $q) (i32.add (local.get $e) (i32.const 1)))))
                (if (i32x4.extract_lane 2 (local.get $in))
                  (then
                    (local.set $e (i32.load offset=64 (local.get $q)))
                    (f32.store (i32.add (local.get $li) (i32.shl (local.get $e) (i32.const 2))) (f32x4.extract_lane 2 (local.get $x)))
                    (i32.store (i32.add (i32.add (local.get $li) (local.get $capBytes)) (i32.shl (local.get $e) (i32.const 2)))
                      (i32.add (local.get $base) (i32.add (local.get $j) (i32.const 2))))
                    (i32.store offset=64 (local.get $q) (i32.add (local.get $e) (i32.const 1)))))
                (if (i32x4.extract_lane 3 (local.get $in))
                  (then
                    (local.set $e (i32.load offset=64 (local.get $q)))
                    (f32.store (i32.add (local.get $li) (i32.shl (local.get $e) (i32.const 2))) (f32x4.extract_lane 3 (local.get $x)))
                    (i32.store (i32.add (i32.add (local.get $li) (local.get $capBytes)) (i32.shl (local.get $e) (i32.const 2)))
                      (i32.add (local.get $base) (i32.add (local.get $j) (i32.const 3))))
                    (i32.store offset=64 (local.get $q) (i32.add (local.get $e) (i32.const 1)))))))
            (local.set $q (i32.add (local.get $q) (i32.const 80)))
            (local.set $li (i32.add (local.get $li) (i32.shl (local.get $capBytes) (i32.const 1))))
            (local.set $at (i32.add (local.get $at) (i32.shl (local.get $p) (i32.const 2))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $member)))
        (local.set $elected (f32x4.ge (local.get $total) (v128.const f32x4 0 0 0 0)))
        (v128.store
          (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
          (f32x4.div
            (v128.bitselect (local.get $sumPlus) (local.get $sumMinus) (local.get $elected))
            (f32x4.max
              (f32x4.convert_i32x4_s (v128.bitselect (local.get $countPlus) (local.get $countMinus) (local.get $elected)))
              (v128.const f32x4 1 1 1 1))))
        (if (v128.any_true (local.get $unsure))
          (then
            (if (i32x4.extract_lane 0 (local.get $unsure))
              (then
                (i32.store (local.get $rec) (i32.add (local.get $base) (local.get $j)))
                (f32.store offset=4 (local.get $rec) (f32x4.extract_lane 0 (local.get $total)))
                (f32.store offset=8 (local.get $rec) (f32x4.extract_lane 0 (local.get $sumPlus)))
                (f32.store offset=12 (local.get $rec) (f32x4.extract_lane 0 (local.get $sumMinus)))
                (i32.store offset=16 (local.get $rec) (i32x4.extract_lane 0 (local.get $countPlus)))
                (i32.store offset=20 (local.get $rec) (i32x4.extract_lane 0 (local.get $countMinus)))
                (local.set $rec (i32.add (local.get $rec) (i32.const 24)))))
            (if (i32x4.extract_lane 1 (local.get $unsure))
              (then
                (i32.store (local.get $rec) (i32.add (local.get $base) (i32.add (local.get $j) (i32.const 1))))
                (f32.store offset=4 (local.get $rec) (f32x4.extract_lane 1 (local.get $total)))
                (f32.store offset=8 (local.get $rec) (f32x4.extract_lane 1 (local.get $sumPlus)))
                (f32.store offset=12 (local.get $rec) (f32x4.extract_lane 1 (local.get $sumMinus)))
                (i32.store offset=16 (local.get $rec) (i32x4.extract_lane 1 (local.get $countPlus)))
                (i32.store offset=20 (local.get $rec) (i32x4.extract_lane 1 (local.get $countMinus)))
                (local.set $rec (i32.add (local.get $rec) (i32.const 24)))))
            (if (i32x4.extract_lane 2 (local.get $unsure))
              (then
                (i32.store (local.get $rec) (i32.add (local.get $base) (i32.add (local.get $j) (i32.const 2))))
                (f32.store offset=4 (local.get $rec) (f32x4.extract_lane 2 (local.get $total)))
                (f32.store offset=8 (local.get $rec) (f32x4.extract_lane 2 (local.get $sumPlus)))
                (f32.store offset=12 (local.get $rec) (f32x4.extract_lane 2 (local.get $sumMinus)))
                (i32.store offset=16 (local.get $rec) (i32x4.extract_lane 2 (local.get $countPlus)))
                (i32.store offset=20 (local.get $rec) (i32x4.extract_lane 2 (local.get $countMinus)))
                (local.set $rec (i32.add (local.get $rec) (i32.const 24)))))
            (if (i32x4.extract_lane 3 (local.get $unsure))
              (then
                (i32.store (local.get $rec) (i32.add (local.get $base) (i32.add (local.get $j) (i32.const 3))))
                (f32.store offset=4 (local.get $rec) (f32x4.extract_lane 3 (local.get $total)))
                (f32.store offset=8 (local.get $rec) (f32x4.extract_lane 3 (local.get $sumPlus)))
                (f32.store offset=12 (local.get $rec) (f32x4.extract_lane 3 (local.get $sumMinus)))
                (i32.store offset=16 (local.get $rec) (i32x4.extract_lane 3 (local.get $countPlus)))
                (i32.store offset=20 (local.get $rec) (i32x4.extract_lane 3 (local.get $countMinus)))
                (local.set $rec (i32.add (local.get $rec) (i32.const 24)))))))
        (local.set $pos (i32x4.add (local.get $pos) (local.get $step)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $values)))
    (i32.div_u (i32.sub (local.get $rec) (local.get $pending)) (i32.const 24)))
;; Finishes the positions that `fused` left unsure, once each member's exact threshold is known. Per member, at
  ;; params + 16·i: the threshold t (f32), the cut (i32: a magnitude equal to t is kept at positions before it), the
  ;; weight (f32) and the length of its list (i32); its list is where `fused` wrote it (lists + 8·cap·i, positions 4·cap
  ;; past). A listed value is kept where its magnitude is above t, or equal to t before the cut, and added to its
  ;; position's record (found by walking the records, which are in position order as the lists are). The sums are
  ;; taken in float64 and stored in float32, member by member, as ties-runtime.ts did in JS (so the bits are the same).
  ;; Then each record's merged value (f32) replaces its total at +4.
  (func (export "finish")
    (param $n i32) (param $params i32) (param $lists i32) (param $cap i32) (param $records i32) (param $count i32)
    (local $i i32) (local $e i32) (local $length i32) (local $q i32) (local $li i32) (local $lp i32) (local $rp i32)
    (local $pos i32) (local $cut i32) (local $end i32) (local $x f32) (local $m f32) (local $t f32) (local $w f64)
    (local $plus i32)
    (local.set $end (i32.add (local.get $records) (i32.mul (local.get $count) (i32.const 24))))
    (block $members
      (loop $member
        (br_if $members (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $q (i32.add (local.get $params) (i32.shl (local.get $i) (i32.const 4))))
        (local.set $t (f32.load (local.get $q)))
        (local.set $cut (i32.load offset=4 (local.get $q)))
        (local.set $w (f64.promote_f32 (f32.load offset=8 (local.get $q))))
        (local.set $length (i32.load offset=12 (local.get $q)))
        (local.set $li (i32.add (local.get $lists) (i32.mul (local.get $i) (i32.shl (local.get $cap) (i32.const 3)))))
        (local.set $lp (i32.add (local.get $li) (i32.shl (local.get $cap) (i32.const 2))))
        (local.set $rp (local.get $records))
        (local.set $e (i32.const 0))
        (block $done
          (loop $entries
            (br_if $done (i32.ge_u (local.get $e) (local.get $length)))
            (local.set $x (f32.load (local.get $li)))
            (local.set $pos (i32.load (local.get $lp)))
            (local.set $m (f32.abs (local.get $x)))
            (if (i32.or
                  (f32.gt (local.get $m) (local.get $t))
                  (i32.and (f32.eq (local.get $m) (local.get $t)) (i32.lt_s (local.get $pos) (local.get $cut))))
              (then
                (block $found
                  (loop $seek
                    (br_if $found (i32.eq (i32.load (local.get $rp)) (local.get $pos)))
                    (local.set $rp (i32.add (local.get $rp) (i32.const 24)))
                    (br_if $seek (i32.lt_u (local.get $rp) (local.get $end)))
                    (unreachable)))
                (f32.store offset=4 (local.get $rp)
                  (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load offset=4 (local.get $rp))) (f64.promote_f32 (local.get $x)))))
                (if (f32.ne (local.get $x) (f32.const 0))
                  (then
                    (local.set $plus (f32.gt (local.get $x) (f32.const 0)))
                    (local.set $q (i32.add (local.get $rp) (select (i32.const 0) (i32.const 4) (local.get $plus))))
                    (f32.store offset=8 (local.get $q)
                      (f32.demote_f64
                        (f64.add
                          (f64.promote_f32 (f32.load offset=8 (local.get $q)))
                          (f64.mul (local.get $w) (f64.promote_f32 (local.get $x))))))
                    (i32.store offset=16 (local.get $q) (i32.add (i32.load offset=16 (local.get $q)) (i32.const 1)))))))
            (local.set $li (i32.add (local.get $li) (i32.const 4)))
            (local.set $lp (i32.add (local.get $lp) (i32.const 4)))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br $entries)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $member)))
    (local.set $rp (local.get $records))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $rp) (local.get $end)))
        (local.set $plus (f32.ge (f32.load offset=4 (local.get $rp)) (f32.const 0)))
        (local.set $q (i32.add (local.get $rp) (select (i32.const 0) (i32.const 4) (local.get $plus))))
        (f32.store offset=4 (local.get $rp)
          (f32.demote_f64
            (f64.div
              (f64.promote_f32 (f32.load offset=8 (local.get $q)))
              (f64.convert_i32_s
                (select (i32.load offset=16 (local.get $q)) (i32.const 1) (i32.gt_s (i32.load offset=16 (local.get $q)) (i32.const 1)))))))
        (local.set $rp (i32.add (local.get $rp) (i32.const 24)))
        (br $each))))
)
