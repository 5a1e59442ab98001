//! The builtin functions of §13: arity, effect (§9.1), determinism
//! (§10.7) and result type, for the resolver, typechecker and lowering.

/// A builtin: name, fewest and most arguments (`None`: variadic), the
/// effect it performs, whether `@deterministic` rejects it, and its result
/// type in source syntax (`Any` when it depends on the arguments).
pub struct Builtin {
    pub name: &'static str,
    pub min: usize,
    pub max: Option<usize>,
    pub effect: Option<&'static str>,
    pub nondeterministic: bool,
    pub returns: &'static str,
}

const fn b(name: &'static str, min: usize, max: usize, returns: &'static str) -> Builtin {
    Builtin {
        name,
        min,
        max: Some(max),
        effect: None,
        nondeterministic: false,
        returns,
    }
}

const fn v(name: &'static str, min: usize, returns: &'static str) -> Builtin {
    Builtin {
        name,
        min,
        max: None,
        effect: None,
        nondeterministic: false,
        returns,
    }
}

const fn e(b: Builtin, effect: &'static str, nondet: bool) -> Builtin {
    Builtin {
        effect: Some(effect),
        nondeterministic: nondet,
        ..b
    }
}

pub const BUILTINS: &[Builtin] = &[
    e(v("print", 0, "Null"), "emit", false),
    e(b("debug", 1, 1, "Null"), "emit", false),
    b("to_string", 1, 1, "String"),
    b("str", 1, 1, "String"),
    b("string", 1, 1, "String"),
    b("to_int", 1, 1, "Any"),
    b("int", 1, 1, "Any"),
    b("to_float", 1, 1, "Any"),
    b("float", 1, 1, "Any"),
    b("bool", 1, 1, "Bool"),
    b("bytes", 1, 1, "Bytes"),
    b("json", 1, 1, "Json"),
    b("parse_int", 1, 1, "result[Int, String]"),
    b("parse_float", 1, 1, "result[Float, String]"),
    b("type_of", 1, 1, "String"),
    b("json_encode", 1, 1, "String"),
    b("to_json", 1, 1, "String"),
    b("json_parse", 1, 1, "Json"),
    b("parse_json", 1, 1, "Json"),
    b("hash", 1, 1, "String"),
    b("exit", 1, 1, "Null"),
    b("len", 1, 1, "Int"),
    b("length", 1, 1, "Int"),
    b("count", 1, 1, "Int"),
    b("size", 1, 1, "Int"),
    b("is_empty", 1, 1, "Bool"),
    b("append", 2, 2, "Any"),
    b("range", 2, 2, "list[Int]"),
    b("contains", 2, 2, "Bool"),
    b("first", 1, 1, "Any"),
    b("last", 1, 1, "Any"),
    b("take", 2, 2, "Any"),
    b("drop", 2, 2, "Any"),
    b("slice", 3, 3, "Any"),
    b("reverse", 1, 1, "Any"),
    b("sort", 1, 1, "Any"),
    b("sort_by", 2, 2, "Any"),
    b("unique", 1, 1, "Any"),
    b("flatten", 1, 1, "Any"),
    b("zip", 2, 2, "Any"),
    b("enumerate", 1, 1, "Any"),
    b("chunk", 2, 2, "Any"),
    b("window", 2, 2, "Any"),
    b("map", 2, 2, "Any"),
    b("filter", 2, 2, "Any"),
    b("flat_map", 2, 2, "Any"),
    b("reduce", 3, 3, "Any"),
    b("any", 2, 2, "Bool"),
    b("all", 2, 2, "Bool"),
    b("find", 2, 2, "Any"),
    b("position", 2, 2, "Int"),
    b("group_by", 2, 2, "Any"),
    b("sum", 1, 1, "Any"),
    b("keys", 1, 1, "Any"),
    b("values", 1, 1, "Any"),
    b("entries", 1, 1, "Any"),
    b("has_key", 2, 2, "Bool"),
    b("get", 2, 2, "Any"),
    b("get_or", 3, 3, "Any"),
    b("remove", 2, 2, "Any"),
    b("merge", 2, 2, "Any"),
    b("to_set", 1, 1, "Any"),
    b("to_list", 1, 1, "Any"),
    b("add", 2, 2, "Any"),
    b("split", 2, 2, "list[String]"),
    b("join", 2, 2, "String"),
    b("replace", 3, 3, "String"),
    b("trim", 1, 1, "String"),
    b("trim_start", 1, 1, "String"),
    b("trim_end", 1, 1, "String"),
    b("upper", 1, 1, "String"),
    b("lower", 1, 1, "String"),
    b("starts_with", 2, 2, "Bool"),
    b("ends_with", 2, 2, "Bool"),
    b("index_of", 2, 2, "Int"),
    b("chars", 1, 1, "list[String]"),
    b("pad_left", 2, 2, "String"),
    b("pad_right", 2, 2, "String"),
    b("abs", 1, 1, "Any"),
    b("min", 2, 2, "Any"),
    b("max", 2, 2, "Any"),
    b("clamp", 3, 3, "Any"),
    b("round", 1, 1, "Float"),
    b("floor", 1, 1, "Float"),
    b("ceil", 1, 1, "Float"),
    b("sqrt", 1, 1, "Float"),
    b("log", 1, 1, "Float"),
    b("sin", 1, 1, "Float"),
    b("cos", 1, 1, "Float"),
    b("pow", 2, 2, "Float"),
    b("is_ok", 1, 1, "Bool"),
    b("is_err", 1, 1, "Bool"),
    b("unwrap", 1, 1, "Any"),
    b("unwrap_or", 2, 2, "Any"),
    b("assert", 1, 2, "Null"),
    b("assert_eq", 2, 3, "Null"),
    b("assert_ne", 2, 3, "Null"),
    b("assert_contains", 2, 2, "Null"),
    b("assert_err", 1, 1, "Null"),
    e(b("uuid", 0, 0, "String"), "random", true),
    e(b("timestamp", 0, 0, "Float"), "time", true),
    e(b("random", 0, 0, "Float"), "random", true),
    e(b("random_int", 2, 2, "Int"), "random", true),
    e(b("get_env", 1, 1, "String?"), "env", true),
    e(b("read_file", 1, 1, "String"), "fs", true),
    e(b("write_file", 2, 2, "Null"), "fs", true),
    e(v("spawn", 1, "Any"), "async", false),
    e(v("parallel", 0, "list[Any]"), "async", false),
    e(v("race", 0, "Any"), "async", false),
    b("trace_ref", 0, 0, "Any"),
    b("ok", 1, 1, "Any"),
    b("err", 1, 1, "Any"),
    b("halt", 1, 1, "Null"),
    b("set", 0, 1, "Any"),
    b("list", 0, 1, "Any"),
    b("tuple", 0, 1, "Any"),
];

/// Builtin constants.
pub static CONSTANTS: &[(&str, &str)] = &[
    ("PI", "Float"),
    ("E", "Float"),
    ("MAX_INT", "Int"),
    ("MIN_INT", "Int"),
];

pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The builtin's index (its call target in LIR).
pub fn index(name: &str) -> Option<usize> {
    BUILTINS.iter().position(|b| b.name == name)
}

/// Tool ids served by deterministic built-in providers (§10.4).
pub const DETERMINISTIC_TOOLS: &[&str] = &[
    "crypto.sha256",
    "crypto.base64_encode",
    "crypto.base64_decode",
    "json.parse",
    "json.stringify",
];
