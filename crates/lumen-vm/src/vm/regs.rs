//! Register writes and copies on the interpreter's fast paths: scalars
//! are written with one 16-byte store and tested for before anything else,
//! and the slow halves are cold out-of-line calls, so that LLVM lays the
//! fast paths out straight (see `exec.rs`).

use super::*;

/// Where a call's result goes: its base register, or the destination of
/// the `Move` fused into it.
#[inline(always)]
pub(super) fn ret_reg(ins: &crate::program::Ins) -> usize {
    if ins.d == 0 {
        ins.a as usize
    } else {
        ins.d as usize - 1
    }
}

/// Values without drop glue.
#[inline(always)]
pub(super) fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Absent | Value::Bool(_) | Value::Int(_) | Value::Float(_)
    )
}

/// Writes a value that has no drop glue, releasing the old one only if
/// it has some (a single pair of stores in the common case).
#[inline(always)]
pub(super) unsafe fn put_scalar(slot: *mut Value, v: Value) {
    if is_scalar(&*slot) {
        std::ptr::write(slot, v);
    } else {
        *slot = v;
    }
}

/// Stores `v` in `slot`, dropping the old value only if it has drop glue.
#[inline(always)]
pub(super) unsafe fn put_scalar_or_drop(slot: *mut Value, v: Value) {
    if is_scalar(&*slot) {
        std::ptr::write(slot, v);
    } else {
        *slot = v;
    }
}

/// Writes a whole scalar slot with one 16-byte store: the tag word and
/// the payload word (layout fixed by `Value`'s `repr(u8)`). A later read
/// of the slot, whole or in parts, is then served from that one store;
/// writing the tag and the payload separately and reading the slot as a
/// whole soon after stalls the CPU (the load cannot be forwarded).
#[inline(always)]
pub(super) unsafe fn store16(slot: *mut Value, lo: u64, hi: u64) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_set_epi64x, _mm_storeu_si128};
        _mm_storeu_si128(slot as *mut __m128i, _mm_set_epi64x(hi as i64, lo as i64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::ptr::write(slot as *mut [u64; 2], [lo, hi]);
    }
}

/// Writes an Int; a slot that already holds one only gets its payload.
#[inline(always)]
pub(super) unsafe fn put_int(slot: *mut Value, n: i64) {
    match &mut *slot {
        Value::Int(x) => *x = n,
        _ => put_int_retag(slot, n),
    }
}

#[inline(always)]
pub(super) unsafe fn put_bool(slot: *mut Value, b: bool) {
    match &mut *slot {
        Value::Bool(x) => *x = b,
        _ => put_bool_retag(slot, b),
    }
}

// The slow halves of `put_int` and `put_bool` (the slot held another
// type), out of line and marked cold so that the hot paths of the
// interpreter fall through instead of jumping around them.
#[cold]
#[inline(never)]
pub(super) unsafe fn put_int_retag(slot: *mut Value, n: i64) {
    put_scalar(slot, Value::Int(n))
}

#[cold]
#[inline(never)]
pub(super) unsafe fn put_bool_retag(slot: *mut Value, b: bool) {
    put_scalar(slot, Value::Bool(b))
}

/// `xs.push(v)` with the common case (room left) inline: `Vec::push`
/// is an out-of-line call.
#[inline(always)]
pub(super) fn push_fast(xs: &mut Vec<Value>, v: Value) {
    let n = xs.len();
    if n < xs.capacity() {
        // SAFETY: `n` is within capacity, and the slot is past `len`, so
        // it holds no value to drop; `set_len` then covers exactly the
        // initialised items.
        unsafe {
            std::ptr::write(xs.as_mut_ptr().add(n), v);
            xs.set_len(n + 1);
        }
    } else {
        push_grow(xs, v);
    }
}

#[cold]
#[inline(never)]
pub(super) fn push_grow(xs: &mut Vec<Value>, v: Value) {
    xs.push(v);
}

/// Marks the branch that calls it as unlikely (stable Rust has no
/// `likely`/`unlikely`; a call to a cold function has the same effect on
/// block layout).
#[cold]
#[inline(never)]
pub(super) fn cold() {}

/// The general operator, for the operands the interpreter's fast paths do
/// not take (out of line, cold).
#[cold]
#[inline(never)]
pub(super) fn binary_slow(op: Op, x: &Value, y: &Value) -> VmResult<Value> {
    ops::binary(op, x, y)
}

/// Moves the value at `src` to `dst` (leaving null behind), field by
/// field for scalars: no 16-byte load of a slot whose parts were just
/// stored separately, which the CPU could not forward.
#[inline(always)]
pub(super) unsafe fn move_into(dst: *mut Value, src: *mut Value) {
    // Ints first, with a plain test (arguments and results mostly are):
    // a `match` over every case would dispatch through a jump table.
    if let Value::Int(n) = *src {
        put_int(dst, n);
    } else {
        move_into_other(dst, src);
    }
}

/// `move_into` of anything but an Int.
#[inline(never)]
pub(super) unsafe fn move_into_other(dst: *mut Value, src: *mut Value) {
    match *src {
        Value::Bool(b) => put_bool(dst, b),
        Value::Float(f) => put_scalar(dst, Value::Float(f)),
        Value::Null => put_scalar(dst, Value::Null),
        _ => {
            let v = std::ptr::read(src);
            std::ptr::write(src, Value::Null);
            put_scalar_or_drop(dst, v);
        }
    }
}

/// `*slot = v.clone()` with the scalar cases written in place. `v` is
/// read in full before `slot` changes, so the two may alias.
#[inline(always)]
pub(super) unsafe fn copy_into(slot: *mut Value, v: &Value) {
    // Ints first with a plain test, as in `move_into`.
    if let Value::Int(n) = *v {
        put_int(slot, n);
    } else {
        copy_into_other(slot, v);
    }
}

/// `copy_into` of anything but an Int.
#[inline(never)]
pub(super) unsafe fn copy_into_other(slot: *mut Value, v: &Value) {
    match *v {
        Value::Int(n) => put_int(slot, n),
        Value::Bool(b) => put_bool(slot, b),
        Value::Float(f) => put_scalar(slot, Value::Float(f)),
        Value::Null => put_scalar(slot, Value::Null),
        _ => {
            let c = v.clone();
            *slot = c;
        }
    }
}

/// `clone` with the scalar cases inline. A scalar is built with one
/// 16-byte store, so the generic code that moves the result on (a map
/// insert, a list push) can read it back whole without a stall.
#[inline(always)]
pub(super) fn fast_clone(v: &Value) -> Value {
    let (lo, hi) = match v {
        Value::Int(i) => (crate::value::TAG_INT as u64, *i as u64),
        Value::Float(f) => (crate::value::TAG_FLOAT as u64, f.to_bits()),
        Value::Bool(b) => (crate::value::TAG_BOOL as u64 | (*b as u64) << 8, 0),
        Value::Null => (crate::value::TAG_NULL as u64, 0),
        other => return other.clone(),
    };
    let mut out = std::mem::MaybeUninit::<Value>::uninit();
    // SAFETY: `store16` writes a valid `Value` (tag and payload where
    // `repr(u8)` puts them).
    unsafe {
        store16(out.as_mut_ptr(), lo, hi);
        out.assume_init()
    }
}

/// The comparison `CMP_OPS[k]` of two Ints, without a branch: bit
/// `ordering + 1` of the kind's mask says whether it holds.
#[inline(always)]
pub(super) fn cmp_k(k: u8, p: i64, q: i64) -> bool {
    // Lt, Le, Gt, Ge, Eq, Ne over (less, equal, greater).
    const MASKS: [u8; 8] = [0b001, 0b011, 0b100, 0b110, 0b010, 0b101, 0, 0];
    let ord = (p > q) as u8 + (p >= q) as u8;
    (MASKS[(k & 7) as usize] >> ord) & 1 == 1
}

pub(super) fn int_cmp(op: Op, p: i64, q: i64) -> bool {
    match op {
        Op::Lt => p < q,
        Op::Le => p <= q,
        Op::Gt => p > q,
        Op::Ge => p >= q,
        Op::Eq => p == q,
        _ => p != q,
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    /// The tag byte, byte 1 and the payload word of a value, each read
    /// only where the variant defines it.
    fn tag(v: &Value) -> u8 {
        // SAFETY: byte 0 is the `repr(u8)` tag of every variant.
        unsafe { *(v as *const Value as *const u8) }
    }
    fn byte1(v: &Value) -> u8 {
        // SAFETY: used only on Bool, whose field is byte 1.
        unsafe { *(v as *const Value as *const u8).add(1) }
    }
    fn payload(v: &Value) -> u64 {
        // SAFETY: used only on Int and Float, whose field is bytes 8..16.
        unsafe { std::ptr::read_unaligned((v as *const Value as *const u8).add(8) as *const u64) }
    }

    /// `store16` and `fast_clone` rely on `Value`'s `repr(u8)` layout.
    #[test]
    fn scalar_layout_matches_what_store16_writes() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        let i = Value::Int(-0x1122_3344_5566_7788);
        assert_eq!(tag(&i), crate::value::TAG_INT);
        assert_eq!(payload(&i) as i64, -0x1122_3344_5566_7788);
        let f = Value::Float(2.5);
        assert_eq!(tag(&f), crate::value::TAG_FLOAT);
        assert_eq!(payload(&f), 2.5f64.to_bits());
        let t = Value::Bool(true);
        assert_eq!((tag(&t), byte1(&t)), (crate::value::TAG_BOOL, 1));
        assert_eq!(tag(&Value::Null), crate::value::TAG_NULL);
        for v in [
            Value::Int(i64::MIN),
            Value::Int(7),
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Bool(false),
            Value::Bool(true),
            Value::Null,
        ] {
            let c = fast_clone(&v);
            assert_eq!(c.type_name(), v.type_name());
            assert!(c.equals(&v) || matches!(v, Value::Float(x) if x.is_nan()));
        }
        let mut slot = Value::str("heap");
        unsafe {
            put_int(&mut slot, 42);
            assert!(matches!(slot, Value::Int(42)));
            put_bool(&mut slot, true);
            assert!(matches!(slot, Value::Bool(true)));
            copy_into(&mut slot, &Value::Float(1.5));
            assert!(matches!(slot, Value::Float(x) if x == 1.5));
        }
    }
}
