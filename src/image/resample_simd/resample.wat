;; WebAssembly SIMD kernels of Pillow 9.4's 8-bit resampling passes (libImaging/Resample.c,
;; `ImagingResampleHorizontal_8bpc` for RGB and `ImagingResampleVertical_8bpc`), bit for bit.
;;
;; Pillow sums `sample * weight` in a C `int` started at 1 << 21, with 22-bit fixed-point
;; weights, then takes `clip8(sum >> 22)`. Here the same sum is taken modulo 2^32 (i32 lanes,
;; wrapping adds): each weight w is split as w = hi * 2^15 + lo with lo = w & 0x7fff and
;; hi = w >> 15 (both fit in a signed 16-bit lane), two samples are multiplied by their hi (or lo)
;; halves and added by one `i32x4.dot_i16x8_s`, and the sum is (Σhi << 15) + Σlo + 2^21, which
;; equals 2^21 + Σ sample * w modulo 2^32. Then `i32x4.shr_s` by 22, clamp to 0..255 with
;; `i32x4.max_s`/`i32x4.min_s`, narrow to bytes.
;;
;; Coefficients are prepared by src/image/resample_simd/kernels.ts (see the record layouts
;; there). The caller pads: source reads run up to 16 bytes past a row's last sample (zero-weight
;; taps) and up to one row past the last row read; 3-byte pixels are stored as 4 bytes, in
;; increasing order, and vertical rows are stored in 16-byte chunks, so the destination needs
;; 16 bytes of padding after its end.
;;
;; Assembled by tools/build_resample_wasm.ts into resample_wasm.ts; edit this file, then rerun it.
(module
  (memory (export "memory") 1)

  ;; Horizontal pass over RGB bytes (3 per pixel).
  ;; For each of `rows` rows (`srcStride` bytes apart from `src`) writes `outWidth` pixels, packed,
  ;; from `dst` on. Record x at `coefs + x * recordBytes`: i32 byte offset of the first pixel read
  ;; within the row, i32 count of 4-tap groups, then per group four i32: the (hi, hi) of taps
  ;; 0 and 1, their (lo, lo), the (hi, hi) of taps 2 and 3, their (lo, lo), each pair as two
  ;; i16 (first tap in the low half). Taps past the pixel's count have weight 0.
  (func (export "horizontalRgb")
    (param $src i32) (param $srcStride i32) (param $rows i32)
    (param $coefs i32) (param $recordBytes i32) (param $outWidth i32) (param $dst i32)
    (local $rowPtr i32) (local $rowEnd i32) (local $record i32) (local $x i32)
    (local $p i32) (local $w i32) (local $groups i32)
    (local $pixels v128) (local $a v128) (local $b v128)
    (local $hi v128) (local $lo v128) (local $sum v128) (local $maskA v128) (local $maskB v128)
    ;; Pixels 0 and 1 of the 16 loaded bytes as i16 lanes R0 R1 G0 G1 B0 B1 0 0; pixels 2, 3 likewise.
    (local.set $maskA (v128.const i8x16 0 255 3 255 1 255 4 255 2 255 5 255 255 255 255 255))
    (local.set $maskB (v128.const i8x16 6 255 9 255 7 255 10 255 8 255 11 255 255 255 255 255))
    (local.set $rowPtr (local.get $src))
    (local.set $rowEnd (i32.add (local.get $src) (i32.mul (local.get $rows) (local.get $srcStride))))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $rowPtr) (local.get $rowEnd)))
        (local.set $record (local.get $coefs))
        (local.set $x (local.get $outWidth))
        (block $pixelsDone
          (loop $pixelLoop
            (br_if $pixelsDone (i32.eqz (local.get $x)))
            (local.set $p (i32.add (local.get $rowPtr) (i32.load (local.get $record))))
            (local.set $groups (i32.load offset=4 (local.get $record)))
            (local.set $w (i32.add (local.get $record) (i32.const 8)))
            (local.set $hi (v128.const i32x4 0 0 0 0))
            (local.set $lo (v128.const i32x4 0 0 0 0))
            (block $groupsDone
              (loop $groupLoop
                (br_if $groupsDone (i32.eqz (local.get $groups)))
                (local.set $pixels (v128.load (local.get $p)))
                (local.set $a (i8x16.swizzle (local.get $pixels) (local.get $maskA)))
                (local.set $b (i8x16.swizzle (local.get $pixels) (local.get $maskB)))
                (local.set $hi (i32x4.add (local.get $hi)
                  (i32x4.dot_i16x8_s (local.get $a) (v128.load32_splat (local.get $w)))))
                (local.set $lo (i32x4.add (local.get $lo)
                  (i32x4.dot_i16x8_s (local.get $a) (v128.load32_splat offset=4 (local.get $w)))))
                (local.set $hi (i32x4.add (local.get $hi)
                  (i32x4.dot_i16x8_s (local.get $b) (v128.load32_splat offset=8 (local.get $w)))))
                (local.set $lo (i32x4.add (local.get $lo)
                  (i32x4.dot_i16x8_s (local.get $b) (v128.load32_splat offset=12 (local.get $w)))))
                (local.set $p (i32.add (local.get $p) (i32.const 12)))
                (local.set $w (i32.add (local.get $w) (i32.const 16)))
                (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
                (br $groupLoop)))
            ;; (hi << 15) + lo + 2^21, >> 22, clamp 0..255, narrow: R G B in the low three bytes.
            (local.set $sum
              (i32x4.min_s
                (i32x4.max_s
                  (i32x4.shr_s
                    (i32x4.add
                      (i32x4.add (i32x4.shl (local.get $hi) (i32.const 15)) (local.get $lo))
                      (v128.const i32x4 2097152 2097152 2097152 2097152))
                    (i32.const 22))
                  (v128.const i32x4 0 0 0 0))
                (v128.const i32x4 255 255 255 255)))
            (local.set $sum (i16x8.narrow_i32x4_s (local.get $sum) (local.get $sum)))
            (v128.store32_lane 0 (local.get $dst)
              (i8x16.narrow_i16x8_u (local.get $sum) (local.get $sum)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 3)))
            (local.set $record (i32.add (local.get $record) (local.get $recordBytes)))
            (local.set $x (i32.sub (local.get $x) (i32.const 1)))
            (br $pixelLoop)))
        (local.set $rowPtr (i32.add (local.get $rowPtr) (local.get $srcStride)))
        (br $rowLoop))))

  ;; One 16-byte chunk's four i32x4 sums to bytes: (hi << 15) + lo + 2^21, >> 22, clamp 0..255.
  (func $finish (param $hi v128) (param $lo v128) (result v128)
    (i32x4.min_s
      (i32x4.max_s
        (i32x4.shr_s
          (i32x4.add
            (i32x4.add (i32x4.shl (local.get $hi) (i32.const 15)) (local.get $lo))
            (v128.const i32x4 2097152 2097152 2097152 2097152))
          (i32.const 22))
        (v128.const i32x4 0 0 0 0))
      (v128.const i32x4 255 255 255 255)))

  ;; Vertical pass over bytes: output row y (of `outHeight`, each `rowBytes` bytes, packed from
  ;; `dst`) combines source rows `srcStride` bytes apart, 16 bytes of a row at a time. Record y
  ;; at `coefs + y * recordBytes`: i32 byte offset from `src` of the first source row's first
  ;; byte, i32 count of 2-row pairs, then per pair two i32: the (hi, hi) of its rows and their
  ;; (lo, lo), as in horizontalRgb. The second row of a last, odd pair has weight 0.
  (func (export "vertical")
    (param $src i32) (param $srcStride i32) (param $coefs i32) (param $recordBytes i32)
    (param $outHeight i32) (param $rowBytes i32) (param $dst i32)
    (local $y i32) (local $record i32) (local $base i32) (local $pairs i32) (local $column i32)
    (local $p i32) (local $w i32) (local $k i32) (local $twoRows i32)
    (local $rowA v128) (local $rowB v128) (local $low v128) (local $high v128)
    (local $e0 v128) (local $e1 v128) (local $e2 v128) (local $e3 v128)
    (local $wHi v128) (local $wLo v128)
    (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $l0 v128) (local $l1 v128) (local $l2 v128) (local $l3 v128)
    (local.set $twoRows (i32.shl (local.get $srcStride) (i32.const 1)))
    (local.set $record (local.get $coefs))
    (local.set $y (local.get $outHeight))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.eqz (local.get $y)))
        (local.set $base (i32.add (local.get $src) (i32.load (local.get $record))))
        (local.set $pairs (i32.load offset=4 (local.get $record)))
        (local.set $column (i32.const 0))
        (block $columnsDone
          (loop $columnLoop
            (br_if $columnsDone (i32.ge_u (local.get $column) (local.get $rowBytes)))
            (local.set $p (i32.add (local.get $base) (local.get $column)))
            (local.set $w (i32.add (local.get $record) (i32.const 8)))
            (local.set $k (local.get $pairs))
            (local.set $h0 (v128.const i32x4 0 0 0 0))
            (local.set $h1 (v128.const i32x4 0 0 0 0))
            (local.set $h2 (v128.const i32x4 0 0 0 0))
            (local.set $h3 (v128.const i32x4 0 0 0 0))
            (local.set $l0 (v128.const i32x4 0 0 0 0))
            (local.set $l1 (v128.const i32x4 0 0 0 0))
            (local.set $l2 (v128.const i32x4 0 0 0 0))
            (local.set $l3 (v128.const i32x4 0 0 0 0))
            (block $pairsDone
              (loop $pairLoop
                (br_if $pairsDone (i32.eqz (local.get $k)))
                (local.set $rowA (v128.load (local.get $p)))
                (local.set $rowB (v128.load (i32.add (local.get $p) (local.get $srcStride))))
                ;; Bytes of the two rows interleaved, a0 b0 a1 b1 ..., widened to i16 pairs.
                (local.set $low (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23
                  (local.get $rowA) (local.get $rowB)))
                (local.set $high (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31
                  (local.get $rowA) (local.get $rowB)))
                (local.set $e0 (i16x8.extend_low_i8x16_u (local.get $low)))
                (local.set $e1 (i16x8.extend_high_i8x16_u (local.get $low)))
                (local.set $e2 (i16x8.extend_low_i8x16_u (local.get $high)))
                (local.set $e3 (i16x8.extend_high_i8x16_u (local.get $high)))
                (local.set $wHi (v128.load32_splat (local.get $w)))
                (local.set $wLo (v128.load32_splat offset=4 (local.get $w)))
                (local.set $h0 (i32x4.add (local.get $h0) (i32x4.dot_i16x8_s (local.get $e0) (local.get $wHi))))
                (local.set $l0 (i32x4.add (local.get $l0) (i32x4.dot_i16x8_s (local.get $e0) (local.get $wLo))))
                (local.set $h1 (i32x4.add (local.get $h1) (i32x4.dot_i16x8_s (local.get $e1) (local.get $wHi))))
                (local.set $l1 (i32x4.add (local.get $l1) (i32x4.dot_i16x8_s (local.get $e1) (local.get $wLo))))
                (local.set $h2 (i32x4.add (local.get $h2) (i32x4.dot_i16x8_s (local.get $e2) (local.get $wHi))))
                (local.set $l2 (i32x4.add (local.get $l2) (i32x4.dot_i16x8_s (local.get $e2) (local.get $wLo))))
                (local.set $h3 (i32x4.add (local.get $h3) (i32x4.dot_i16x8_s (local.get $e3) (local.get $wHi))))
                (local.set $l3 (i32x4.add (local.get $l3) (i32x4.dot_i16x8_s (local.get $e3) (local.get $wLo))))
                (local.set $p (i32.add (local.get $p) (local.get $twoRows)))
                (local.set $w (i32.add (local.get $w) (i32.const 8)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br $pairLoop)))
            (v128.store (i32.add (local.get $dst) (local.get $column))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s
                  (call $finish (local.get $h0) (local.get $l0))
                  (call $finish (local.get $h1) (local.get $l1)))
                (i16x8.narrow_i32x4_s
                  (call $finish (local.get $h2) (local.get $l2))
                  (call $finish (local.get $h3) (local.get $l3)))))
            (local.set $column (i32.add (local.get $column) (i32.const 16)))
            (br $columnLoop)))
        (local.set $dst (i32.add (local.get $dst) (local.get $rowBytes)))
        (local.set $record (i32.add (local.get $record) (local.get $recordBytes)))
        (local.set $y (i32.sub (local.get $y) (i32.const 1)))
        (br $rowLoop))))
)
