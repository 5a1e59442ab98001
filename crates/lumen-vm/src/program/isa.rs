//! The interpreter's instruction set: LIR's operations with operands
//! narrowed and names resolved to numbers, plus fused forms (see `fuse`).
//!
//! The list of LIR operations is not repeated here: `lumen_lir::for_each_op`
//! generates it, and `Op::from_lir` maps each LIR operation to the one of
//! the same name with an exhaustive match, so a new LIR operation is
//! either given a place in the loader and the interpreter or the crate does
//! not compile.
//!
//! Operands that change meaning on loading: `CallMethod`'s `b` and
//! `Perform`'s `b` are name ids (method, effect operation); `HandlePush`'s
//! `a` is the operation id, `b` the clause pc, `c` its parameter
//! registers; `MakeRecord`'s `b` is the record type index (fields from
//! `c`); `MakeVariant`'s `b` is a variant id (payload from `c`, `NONE`:
//! none); `GetField`'s `c` and `SetField`'s `b` are field name ids;
//! `TestVariant`'s `c` is a variant id; `TestType`, `Convert` and
//! `ExpectSchema` take an index into `Program::type_tests`; `Format`'s
//! `c` is a format spec index or `NONE`; `SliceMid` is `a = b[c .. len -
//! d]` with `d` in the operand of the `Nop` after it.

use lumen_lir as lir;

macro_rules! vm_ops {
    ({ $( $(#[doc = $vdoc:literal])* $own:ident, )* }
     $( $(#[doc = $ldoc:literal])* $lir:ident, )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Op {
            $( $(#[doc = $ldoc])* $lir, )*
            $( $(#[doc = $vdoc])* $own, )*
        }

        impl Op {
            /// The instruction of the same name as a LIR operation.
            pub const fn from_lir(op: lir::Op) -> Op {
                match op {
                    $( lir::Op::$lir => Op::$lir, )*
                }
            }
        }
    };
}

lumen_lir::for_each_op!(vm_ops {
    /// `b`: process index (constructor of an instance).
    MakeObject,
    /// `a` = iterator over `b .. c` (fused `Range` + `IterInit`).
    IterRange,
    /// `a` = iterator over `b ..= c`.
    IterRangeIncl,
    /// Marks register `a` as a spread argument.
    SpreadArg,
    /// `Call` in a cell that has spread arguments (arguments normalised
    /// at run time).
    CallSpread,
    /// A comparison fused with the `JumpIfFalse` after it: `a` = the
    /// comparison (kind in `x`) of registers `c & 0xffff` and `c >> 16`;
    /// jump to `b` if false, else skip the `JumpIfFalse` (kept in place
    /// for jumps that land on it).
    CmpJump,
    /// `LoadConst c, d; OP a, b, c` fused: loads the constant into `c`
    /// too, then skips the original `OP` (kept for jumps to it).
    BinK,
    /// `LoadConst t, d; CMP a, x, t; JumpIfFalse a, b` fused (`c` = x |
    /// t << 16, kind in `x`); skips the two instructions it covers.
    CmpKJump,
    /// `Jump a` where `a` holds a loop test (`IterNext`, `CmpJump`,
    /// `CmpKJump`): performs that test directly.
    JumpLoop,
    /// `JumpLoop` onto a `ForNext`.
    LoopFor,
    /// `JumpLoop` onto a `CmpJump` or `CmpKJump`.
    LoopCmp,
    /// `IterRange` whose loop head follows it: the counter and the end
    /// go to the hidden Int registers `a` and `a + 1` (`x` = 1: `..=`).
    ForPrep,
    /// The head of a loop over a range: `a` = the next value of the
    /// counter in hidden register `b` while it is below `b + 1`, else
    /// jump to `c`.
    ForNext,
    /// `LoadBool c, d` (`x` = 0) or `LoadConst c, d` (`x` = 1) fused with
    /// the `SetIndex` or single-item `Push` after it that stores register
    /// `c` (kept in place, and run right after the load).
    StoreK,
    /// `Add` right before a `LoopCmp` (a `while` loop's increment and
    /// its back edge): runs both.
    AddLoop,
    /// `AddK` whose covered `Add` is followed by a `LoopCmp`.
    AddKLoop,
    /// `BinK` of `+`, `-`, `*`, `%` (the common ones get their own arm).
    AddK,
    SubK,
    MulK,
    ModK,
    /// `AddK`.. whose constant is an Int that fits in 32 bits and whose
    /// register is dead (`DEAD_K`): the value sits in `c` as an `i32`
    /// (`d` still names the constant, for the slow path).
    AddI,
    SubI,
    MulI,
    ModI,
    /// `AddKLoop` with an immediate (see `AddI`).
    AddILoop,
    /// `StoreK` of a single-use Bool (`x` = 0) or constant (`x` = 1)
    /// into `SetIndex l, i, t`: `a` = l, `b` = i, `c` = t, value in `d`.
    /// An unshared list at an in-range Int gets the value directly;
    /// otherwise the value goes to `t` and the `SetIndex` (kept in place)
    /// runs.
    SetIndexK,
    /// `GetIndex t, l, i; JumpIfFalse t, L` with `t` dead after the jump
    /// (`if flags[i]`): `a` = l, `b` = i, `c` = L, `d` = t. A Bool item
    /// of a list branches directly; anything else runs the `GetIndex`
    /// into `t` and goes on to the `JumpIfFalse` (kept in place).
    IndexJump,
    /// `AddLoop` (`x += y`) whose loop test is `x CMP r` (a `CmpJump`
    /// with a dead result) and whose loop exits right after its back
    /// edge: `a` = x | r << 16, `b` = y, `c` = the body's first
    /// instruction, kind in `x`. One dispatch per iteration of the loop
    /// control; anything but Ints without overflow goes the long way
    /// (add, then the `CmpJump`).
    AddCmpLoop,
    /// `AddCmpLoop` of an `AddILoop`: `b` = the immediate, `d` = its
    /// constant.
    AddICmpLoop,
    /// `CmpKJump` whose constant is an Int that fits in 16 bits and
    /// whose register is dead: the value sits in `c >> 16` as an `i16`.
    CmpIJump,
});

pub const NONE: u32 = u32::MAX;

/// Bits of `Ins::x` in `CmpJump`, `CmpKJump`, `BinK` and its `AddK`
/// family above the operator index (`x & OP_MASK`): the compiler marked
/// the register the fused comparison writes for its `JumpIfFalse`
/// (`DEAD_RESULT`) or the constant's register (`DEAD_K`) as read by
/// nothing but the instructions fused, so the fused form skips the write.
pub const OP_MASK: u8 = 0x0f;
pub const DEAD_RESULT: u8 = 0x10;
pub const DEAD_K: u8 = 0x20;

#[derive(Debug, Clone, Copy)]
pub struct Ins {
    pub op: Op,
    /// The operator of a fused instruction (an index into `CMP_OPS` or
    /// `BIN_OPS`); fits in the padding after `op`.
    pub x: u8,
    /// A fourth small operand: a constant index (`BinK`), or a result
    /// register + 1 for calls whose `Move` was fused away (0: none).
    pub d: u16,
    pub a: u32,
    pub b: u32,
    pub c: u32,
}

impl Ins {
    pub const fn new(op: Op, a: u32, b: u32, c: u32) -> Ins {
        Ins {
            op,
            x: 0,
            d: 0,
            a,
            b,
            c,
        }
    }
}

/// The comparison kinds of `CmpJump`.
pub const CMP_OPS: [Op; 6] = [Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Eq, Op::Ne];

/// The operators `BinK` fuses with the constant load before them.
pub const BIN_OPS: [Op; 12] = [
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::IntDiv,
    Op::Mod,
    Op::Lt,
    Op::Le,
    Op::Gt,
    Op::Ge,
    Op::Eq,
    Op::Ne,
];
