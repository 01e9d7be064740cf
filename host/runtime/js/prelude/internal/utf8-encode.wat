;; The UTF-8 encoder behind TextEncoder for large strings (host/runtime/js/prelude/internal/utf8-wasm.js holds its
;; binary; test/bytes-encoding.test.ts checks that the binary is this text assembled by binaryen).
;;
;; enc(s, start, end) encodes the UTF-16 units s[start, end) as UTF-8 at address 0 of memory "m" and returns the
;; number of bytes (at most 3 per unit: end - start <= 32768 fits the 2 pages). A lone surrogate becomes U+FFFD
;; (WHATWG USVString conversion); a pair cut at `end` is the caller's to avoid. The string's units come in by
;; wasm:js-string intoCharCodeArray, a native copy of any string representation (flat, cons, sliced) into a GC
;; array: a JS charCodeAt loop is 1.5 to 40 times slower depending on how the string was built.
(module
  (type $a16 (array (mut i16)))
  (import "wasm:js-string" "intoCharCodeArray" (func $into (param externref (ref null $a16) i32) (result i32)))
  (import "wasm:js-string" "substring" (func $sub (param externref i32 i32) (result (ref extern))))
  (memory (export "m") 2)
  (global $buf (mut (ref null $a16)) (ref.null $a16))
  (func (export "enc") (param $s externref) (param $start i32) (param $end i32) (result i32)
    (local $n i32) (local $i i32) (local $p i32) (local $c i32) (local $d i32) (local $e i32) (local $f i32)
    (local $arr (ref null $a16))
    (local.set $n (i32.sub (local.get $end) (local.get $start)))
    (if (ref.is_null (global.get $buf)) (then (global.set $buf (array.new_default $a16 (local.get $n)))))
    (if (i32.lt_u (array.len (global.get $buf)) (local.get $n)) (then (global.set $buf (array.new_default $a16 (local.get $n)))))
    (local.set $arr (global.get $buf))
    (drop (call $into (call $sub (local.get $s) (local.get $start) (local.get $end)) (local.get $arr) (i32.const 0)))
    (block $done
      (loop $ascii
        ;; Four ASCII units at a time, stored as one word.
        (block $one
          (loop $four
            (br_if $one (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
            (local.set $c (array.get_u $a16 (local.get $arr) (local.get $i)))
            (local.set $d (array.get_u $a16 (local.get $arr) (i32.add (local.get $i) (i32.const 1))))
            (local.set $e (array.get_u $a16 (local.get $arr) (i32.add (local.get $i) (i32.const 2))))
            (local.set $f (array.get_u $a16 (local.get $arr) (i32.add (local.get $i) (i32.const 3))))
            (br_if $one (i32.ge_u (i32.or (i32.or (local.get $c) (local.get $d)) (i32.or (local.get $e) (local.get $f))) (i32.const 0x80)))
            (i32.store (local.get $p)
              (i32.or (i32.or (local.get $c) (i32.shl (local.get $d) (i32.const 8)))
                      (i32.or (i32.shl (local.get $e) (i32.const 16)) (i32.shl (local.get $f) (i32.const 24)))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $four)))
        ;; One unit at a time until the next ASCII one.
        (loop $unit
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $c (array.get_u $a16 (local.get $arr) (local.get $i)))
          (if (i32.lt_u (local.get $c) (i32.const 0x80))
            (then
              (i32.store8 (local.get $p) (local.get $c))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $ascii)))
          (if (i32.lt_u (local.get $c) (i32.const 0x800))
            (then
              (i32.store8 (local.get $p) (i32.or (i32.const 0xc0) (i32.shr_u (local.get $c) (i32.const 6))))
              (i32.store8 offset=1 (local.get $p) (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
              (local.set $p (i32.add (local.get $p) (i32.const 2)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $unit)))
          (if (i32.eq (i32.and (local.get $c) (i32.const 0xf800)) (i32.const 0xd800))
            (then
              ;; A surrogate: a high one followed by a low one is a pair, anything else U+FFFD.
              (if (i32.and (i32.lt_u (local.get $c) (i32.const 0xdc00)) (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n)))
                (then
                  (local.set $d (array.get_u $a16 (local.get $arr) (i32.add (local.get $i) (i32.const 1))))
                  (if (i32.eq (i32.and (local.get $d) (i32.const 0xfc00)) (i32.const 0xdc00))
                    (then
                      (local.set $c (i32.add (i32.const 0x10000) (i32.or (i32.shl (i32.sub (local.get $c) (i32.const 0xd800)) (i32.const 10)) (i32.sub (local.get $d) (i32.const 0xdc00)))))
                      (i32.store8 (local.get $p) (i32.or (i32.const 0xf0) (i32.shr_u (local.get $c) (i32.const 18))))
                      (i32.store8 offset=1 (local.get $p) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $c) (i32.const 12)) (i32.const 0x3f))))
                      (i32.store8 offset=2 (local.get $p) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $c) (i32.const 6)) (i32.const 0x3f))))
                      (i32.store8 offset=3 (local.get $p) (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
                      (local.set $p (i32.add (local.get $p) (i32.const 4)))
                      (local.set $i (i32.add (local.get $i) (i32.const 2)))
                      (br $unit)))))
              (local.set $c (i32.const 0xfffd))))
          (i32.store8 (local.get $p) (i32.or (i32.const 0xe0) (i32.shr_u (local.get $c) (i32.const 12))))
          (i32.store8 offset=1 (local.get $p) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $c) (i32.const 6)) (i32.const 0x3f))))
          (i32.store8 offset=2 (local.get $p) (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
          (local.set $p (i32.add (local.get $p) (i32.const 3)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $unit))))
    (local.get $p))
)
