//! eval's every function, operator and error, through the operator as a
//! run builds it.

use std::borrow::Cow;

use super::*;
use crate::ops::record_op;
use crate::value::Value;

fn rec() -> Record<'static> {
    let mut r = Record::from_line(Cow::Borrowed("the line"), "the line");
    for (name, v) in [
        ("bytes", Value::str("2048")),
        ("n", Value::Int(7)),
        ("f", Value::Float(2.5)),
        ("neg", Value::Int(-7)),
        ("latency", Value::str("12ms")),
        ("name", Value::str("Bob")),
        ("zero", Value::Int(0)),
        ("big", Value::Int(i64::MAX)),
        ("nul", Value::Null),
        ("flag", Value::Bool(true)),
        ("empty", Value::str("")),
        ("latency-ms", Value::str("5")),
        ("1", Value::str("3")),
        ("word", Value::str("Ünïcode")),
        (
            "user",
            Value::Json(Box::new(serde_json::json!({"id": 7, "tier": "gold"}))),
        ),
    ] {
        r.set(Cow::Borrowed(name), v);
    }
    r
}

/// The record after `eval WORDS`.
fn after(words: &[&str], r: Record<'static>) -> Record<'static> {
    let op = record_op(&[&["eval"], words].concat()).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    let mut out = Vec::new();
    let mut cx = Ctx::new(true);
    op.process(r, &mut out, &mut cx);
    assert_eq!(out.len(), 1, "eval passes every record on");
    assert!(cx.offence.is_none(), "eval drops nothing");
    out.remove(0)
}

/// `x = EXPR` on [`rec`]: x's value as `Int 5`, `Float 3.5`, `Str abc`,
/// or `-` when x is absent.
fn x(expr: &str) -> String {
    let r = after(&[&format!("x = {expr}")], rec());
    match r.get("x") {
        None => "-".into(),
        Some(Value::Int(i)) => format!("Int {i}"),
        Some(v @ Value::Float(_)) => format!("Float {}", v.text()),
        Some(Value::Str(s)) => format!("Str {}", s.s),
        Some(other) => format!("{other:?}"),
    }
}

/// The build error of `eval TEXT`.
fn err(text: &str) -> String {
    record_op(&["eval", text]).err().unwrap_or_default()
}

#[test]
fn eval_integers_stay_integers_while_exact() {
    assert_eq!(x("2 + 3"), "Int 5");
    assert_eq!(x("n * 6 - 2"), "Int 40");
    assert_eq!(x("bytes + 1"), "Int 2049", "text that reads as a number");
    assert_eq!(x("'12' + 1"), "Int 13");
    assert_eq!(x("f + 1"), "Float 3.5");
    assert_eq!(x("0.1 + 0.2"), "Float 0.3");
    assert_eq!(
        x("big + 1"),
        "Float 9223372036854775808",
        "overflow: floats"
    );
    assert_eq!(x("big * 2"), "Float 18446744073709551616");
    assert_eq!(x("-big - 2"), "Float -9223372036854775808");
    assert_eq!(x("99999999999999999999"), "Float 100000000000000000000");
    let r = after(&["x = 0.1 + 0.2"], rec());
    assert!(matches!(r.get("x"), Some(Value::Float(f)) if *f == 0.1 + 0.2));
}

#[test]
fn eval_division_is_float_and_remainder_keeps_dividend_sign() {
    assert_eq!(x("7 / 2"), "Float 3.5");
    assert_eq!(x("6 / 2"), "Float 3");
    assert_eq!(x("bytes / 1024"), "Float 2");
    assert_eq!(x("7 % 3"), "Int 1");
    assert_eq!(x("-7 % 3"), "Int -1");
    assert_eq!(x("7 % -3"), "Int 1");
    assert_eq!(x("neg % 3"), "Int -1");
    assert_eq!(x("7.5 % 2"), "Float 1.5");
    assert_eq!(x("-7.5 % 2"), "Float -1.5");
    assert_eq!(
        x("(0 - big - 1) % -1"),
        "Int 0",
        "i64::MIN % -1 overflows to 0"
    );
}

#[test]
fn eval_precedence_parentheses_and_unary_minus() {
    assert_eq!(x("2 + 3 * 4"), "Int 14");
    assert_eq!(x("(2 + 3) * 4"), "Int 20");
    assert_eq!(x("10 - 4 - 3"), "Int 3", "left to right");
    assert_eq!(x("2 * 3 % 4"), "Int 2");
    assert_eq!(x("-n"), "Int -7");
    assert_eq!(x("- -n"), "Int 7");
    assert_eq!(x("2 * -3"), "Int -6");
    assert_eq!(x("-(1 + 2)"), "Int -3");
    assert_eq!(x("1e3"), "Float 1000");
    assert_eq!(x(".5 + 1"), "Float 1.5");
}

#[test]
fn eval_no_value_leaves_the_field_absent() {
    for e in [
        "missing + 1",
        "nul + 1",
        "name * 2",
        "flag + 1",
        "user + 1",
        "empty + 1",
        "n / 0",
        "n / zero",
        "n / 0.0",
        "n % 0",
        "f % 0",
        "1e308 * 10",
        "lower(missing)",
        "concat(name, missing)",
        "len(nul)",
        "num(name)",
        "round(f, 1.5)",
        "round(name)",
        "min(n, name)",
    ] {
        assert_eq!(x(e), "-", "{e}");
    }
}

#[test]
fn eval_no_value_removes_an_earlier_name_and_keeps_the_rest() {
    let r = after(&["n = n / 0"], rec());
    assert!(r.get("n").is_none(), "an earlier n is removed, never 0");
    assert_eq!(r.get("bytes").and_then(Value::as_str), Some("2048"));
    let r = after(&["_ = missing"], rec());
    assert!(r.get("_").is_none(), "_ is removed too");
    assert_eq!(r.fields.len(), rec().fields.len());
}

#[test]
fn eval_new_name_is_last_and_existing_keeps_its_place() {
    let r = after(&["kb = bytes / 1024"], rec());
    assert_eq!(r.fields.last().map(|(n, _)| n.as_ref()), Some("kb"));
    let r = after(&["n = n + 1"], rec());
    let names: Vec<&str> = r.fields.iter().map(|(n, _)| n.as_ref()).collect();
    let before: Vec<String> = rec().fields.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, before);
    assert!(matches!(r.get("n"), Some(Value::Int(8))));
    let r = after(&["_ = upper(_)"], rec());
    assert_eq!(r.value.as_ref().and_then(Value::as_str), Some("THE LINE"));
}

#[test]
fn eval_words_are_joined_with_spaces() {
    let r = after(&["kb", "=", "bytes", "/", "1024"], rec());
    assert!(matches!(r.get("kb"), Some(Value::Float(f)) if *f == 2.0));
    let r = after(&["y=n*-2"], rec());
    assert!(matches!(r.get("y"), Some(Value::Int(-14))));
    let r = after(
        &[
            "${odd name}",
            "=",
            "concat(${1},",
            "'",
            "',",
            "${latency-ms})",
        ],
        rec(),
    );
    assert_eq!(r.get("odd name").and_then(Value::as_str), Some("3 5"));
}

#[test]
fn eval_fields_dotted_braced_and_current() {
    assert_eq!(x("user.id * 2"), "Int 14");
    assert_eq!(x("upper(user.tier)"), "Str GOLD");
    assert_eq!(x("${1} * 2"), "Int 6");
    assert_eq!(x("${latency-ms} + 1"), "Int 6");
    assert_eq!(x("_"), "Str the line");
    assert_eq!(x("name"), "Str Bob", "a field copied as it is");
    assert_eq!(x("n"), "Int 7");
    assert_eq!(x("user.nope"), "-");
    let r = after(&["copy = user"], rec());
    assert!(matches!(r.get("copy"), Some(Value::Json(_))));
    let r = after(&["b = flag"], rec());
    assert!(matches!(r.get("b"), Some(Value::Bool(true))));
}

#[test]
fn eval_text_literals() {
    assert_eq!(x("'GET'"), "Str GET");
    assert_eq!(x("\"GET\""), "Str GET");
    assert_eq!(x(r"'it\'s'"), "Str it's");
    assert_eq!(x(r#""say \"hi\"""#), "Str say \"hi\"");
    assert_eq!(x(r"'a\tb\\c\d'"), "Str a\tb\\c\\d");
    assert_eq!(x("''"), "Str ");
    assert_eq!(x("'1.5' * 2"), "Float 3");
}

#[test]
fn eval_round_half_away_from_zero() {
    assert_eq!(x("round(2.5)"), "Int 3");
    assert_eq!(x("round(-2.5)"), "Int -3");
    assert_eq!(x("round(2.4)"), "Int 2");
    assert_eq!(x("round(f)"), "Int 3");
    assert_eq!(x("round(n)"), "Int 7");
    assert_eq!(x("round(4.56789, 2)"), "Float 4.57");
    assert_eq!(x("round(1.005, 2)"), "Float 1.01");
    assert_eq!(x("round(-1.005, 2)"), "Float -1.01");
    assert_eq!(x("round(bytes / 1000, 1)"), "Float 2");
    assert_eq!(x("round(1234.5, -2)"), "Int 1200");
    assert_eq!(x("round(1250, -2)"), "Int 1300");
    assert_eq!(x("round(-1250, -2)"), "Int -1300");
    assert_eq!(x("round(n, 2)"), "Int 7");
    assert_eq!(x("round(n, 2.0)"), "Int 7");
    assert_eq!(x("round(big, -1)"), "Float 9223372036854775808");
    assert_eq!(x("round(big, -30)"), "Int 0");
    assert_eq!(x("round(1e300)"), "Float 1e+300");
}

#[test]
fn eval_floor_ceil_abs() {
    assert_eq!(x("floor(2.7)"), "Int 2");
    assert_eq!(x("floor(-2.2)"), "Int -3");
    assert_eq!(x("ceil(2.2)"), "Int 3");
    assert_eq!(x("ceil(-2.7)"), "Int -2");
    assert_eq!(x("floor(n)"), "Int 7");
    assert_eq!(x("ceil('4')"), "Int 4");
    assert_eq!(x("floor(1e300)"), "Float 1e+300");
    assert_eq!(x("abs(neg)"), "Int 7");
    assert_eq!(x("abs(-2.5)"), "Float 2.5");
    assert_eq!(x("abs(0 - big - 1)"), "Float 9223372036854775808");
    assert_eq!(x("floor(name)"), "-");
    assert_eq!(x("abs(missing)"), "-");
}

#[test]
fn eval_min_max() {
    assert_eq!(x("min(n, f)"), "Float 2.5");
    assert_eq!(x("max(n, f)"), "Int 7");
    assert_eq!(x("max(bytes, 100)"), "Int 2048");
    assert_eq!(x("min(3, 1, 2)"), "Int 1");
    assert_eq!(x("max(2, 2.0)"), "Int 2", "the first of equals");
    assert_eq!(x("min(n, missing)"), "-");
}

#[test]
fn eval_num_reads_the_number_a_text_starts_with() {
    assert_eq!(x("num('12ms')"), "Int 12");
    assert_eq!(x("num(latency)"), "Int 12");
    assert_eq!(x("num(latency) * 2"), "Int 24");
    assert_eq!(x("num(' -1.5e3x')"), "Float -1500");
    assert_eq!(x("num('12.')"), "Int 12");
    assert_eq!(x("num('.5s')"), "Float 0.5");
    assert_eq!(x("num('1e')"), "Int 1");
    assert_eq!(x("num('007')"), "Int 7");
    assert_eq!(x("num(n)"), "Int 7");
    assert_eq!(x("num(f)"), "Float 2.5");
    assert_eq!(x("num(2 + 2)"), "Int 4");
    for none in [
        "num('ms')",
        "num('-')",
        "num('.')",
        "num('')",
        "num(flag)",
        "num(user)",
    ] {
        assert_eq!(x(none), "-", "{none}");
    }
}

#[test]
fn eval_len_lower_upper_concat() {
    assert_eq!(x("len(name)"), "Int 3");
    assert_eq!(x("len(word)"), "Int 7", "characters, not bytes");
    assert_eq!(x("len(n * 100)"), "Int 3");
    assert_eq!(x("len(f)"), "Int 3");
    assert_eq!(x("len(empty)"), "Int 0");
    assert_eq!(x("len(user)"), "Int 22", "its JSON text");
    assert_eq!(x("lower(name)"), "Str bob");
    assert_eq!(x("upper(name)"), "Str BOB");
    assert_eq!(x("upper(word)"), "Str ÜNÏCODE");
    assert_eq!(x("lower('ÀB')"), "Str àb");
    assert_eq!(x("lower(n)"), "Str 7");
    assert_eq!(x("concat(name, '-', n, '-', f)"), "Str Bob-7-2.5");
    assert_eq!(x("concat(name)"), "Str Bob");
    assert_eq!(x("concat(user.id, 7 / 2, flag)"), "Str 73.5true");
    assert_eq!(x("len(concat(name, name))"), "Int 6");
}

#[test]
fn eval_errors_point_at_the_column() {
    let cases = [
        ("", "needs NAME = EXPR"),
        ("   ", "needs NAME = EXPR"),
        (
            "= 3",
            "at column 1 of '= 3': expected the name of the field to set, found '='",
        ),
        (
            "x 3",
            "at column 3 of 'x 3': expected '=' after 'x', found a number",
        ),
        (
            "x",
            "at column 2 of 'x': expected '=' after 'x', found the end",
        ),
        ("x == 3", "at column 4 of 'x == 3': '==' compares"),
        (
            "x =",
            "at column 4 of 'x =': expected a number, a field, a 'text', a function or '(', found the end",
        ),
        (
            "kb = bytes / )",
            "at column 14 of 'kb = bytes / )': expected a number",
        ),
        (
            "x = (1 + 2",
            "at column 11 of 'x = (1 + 2': expected ')' to close the '(' at column 5",
        ),
        (
            "x = 1 + 2)",
            "at column 10 of 'x = 1 + 2)': unexpected a ')' that closes no '('",
        ),
        (
            "x = 1 2",
            "at column 7 of 'x = 1 2': unexpected a number after a complete expression",
        ),
        (
            "x = 2x",
            "at column 6 of 'x = 2x': unexpected 'x' after a complete expression",
        ),
        (
            "x = rnd(1)",
            "at column 5 of 'x = rnd(1)': unknown function 'rnd'; did you mean 'round'?",
        ),
        (
            "x = zzzzzz(1)",
            "unknown function 'zzzzzz'; the functions are round, floor",
        ),
        (
            "x = round()",
            "at column 5 of 'x = round()': round takes round(x) or round(x, digits), not 0 arguments",
        ),
        ("x = round(1, 2, 3)", "not 3 arguments"),
        ("x = min(1)", "min takes min(a, b), not 1 argument"),
        ("x = lower(a, b)", "lower takes lower(x), not 2 arguments"),
        (
            "x = concat()",
            "concat takes concat(a, b, ...), not 0 arguments",
        ),
        (
            "x = max(1 2)",
            "at column 11 of 'x = max(1 2)': expected ',' or ')' in max(...), found a number",
        ),
        (
            "x = 'abc",
            "at column 5 of 'x = 'abc': the text that starts here has no closing '",
        ),
        ("x = \"abc", "has no closing \""),
        (
            "x = ${abc",
            "at column 5 of 'x = ${abc': '${' has no closing '}'",
        ),
        ("x = ${}", "'${}' names no field"),
        ("x = $a", "unexpected '$'"),
        ("x = a # b", "at column 7 of 'x = a # b': unexpected '#'"),
        ("é = 1", "at column 1 of 'é = 1': unexpected 'é'"),
        ("x = 1 + é", "at column 9 of 'x = 1 + é'"),
        ("x = 1e999", "the number 1e999 is too large"),
        ("x = a.", "at column 6 of 'x = a.': unexpected '.'"),
        (
            "3 = 4",
            "expected the name of the field to set, found a number",
        ),
    ];
    for (text, want) in cases {
        let e = err(text);
        assert!(e.contains(want), "{text:?}: {e:?} lacks {want:?}");
        assert!(!e.contains('\n'), "one line: {e:?}");
    }
    assert!(err("x = 1 + 2").is_empty(), "a valid expression builds");
}

#[test]
fn eval_nesting_is_bounded_with_a_clear_error() {
    let deep = format!("x = {}1{}", "(".repeat(500), ")".repeat(500));
    assert!(err(&deep).contains("nests more than"), "{}", err(&deep));
    let long = format!("x = 1{}", " + 1".repeat(500));
    assert!(err(&long).contains("nests more than"));
    let minus = format!("x = {}1", "-".repeat(500));
    assert!(err(&minus).contains("nests more than"));
    let calls = format!("x = {}1{}", "abs(".repeat(500), ")".repeat(500));
    assert!(err(&calls).contains("nests more than"));
    // what a person writes is far inside the bound
    let fine = format!("x = {}1{}", "(".repeat(50), ")".repeat(50));
    assert_eq!(x(&fine[4..]), "Int 1");
    assert_eq!(x(&format!("1{}", " + 1".repeat(100))), "Int 101");
}

#[test]
fn eval_compile_reports_parse_errors_by_column_in_characters() {
    let e = parse::parse("${ü} = 1 +").expect_err("incomplete");
    assert_eq!(e.column, 11);
    let e = parse::parse("${ü} = ü").expect_err("ü needs braces");
    assert_eq!(e.column, 8);
    let a = parse::parse("kb = bytes / 1024").expect("valid");
    assert_eq!(a.name, "kb");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// A random expression of integers with `+ - *` and parentheses, and
    /// its value when every step stays in i64 (none once one overflows).
    fn int_expr() -> impl Strategy<Value = (String, Option<i64>)> {
        let leaf = prop_oneof![
            (-1000i64..1000),
            Just(i64::MAX),
            Just(i64::MIN + 1),
            (i64::MIN / 2..i64::MAX / 2),
        ]
        .prop_map(|n| (format!("({n})"), Some(n)));
        leaf.prop_recursive(5, 32, 2, |inner| {
            (
                inner.clone(),
                prop::sample::select(vec!['+', '-', '*']),
                inner,
            )
                .prop_map(|((a, x), op, (b, y))| {
                    let v = x.zip(y).and_then(|(x, y)| match op {
                        '+' => x.checked_add(y),
                        '-' => x.checked_sub(y),
                        _ => x.checked_mul(y),
                    });
                    (format!("({a} {op} {b})"), v)
                })
        })
    }

    proptest! {
        #[test]
        fn eval_integer_arithmetic_is_exact_until_it_overflows((text, want) in int_expr()) {
            let got = x(&text);
            match want {
                Some(i) => prop_assert_eq!(got, format!("Int {i}")),
                None => prop_assert!(!got.starts_with("Int "), "{} is {}", text, got),
            }
        }

        #[test]
        fn eval_parser_never_panics_and_points_inside(
            text in "[a-z0-9_.+*/%()'\", ${}=-]{0,40}"
        ) {
            for t in [text.clone(), format!("x = {text}")] {
                match parse::parse(&t) {
                    Err(e) => prop_assert!(
                        e.column >= 1 && e.column <= t.chars().count() + 1,
                        "{:?}: {:?}", t, e
                    ),
                    Ok(a) => {
                        let mut r = rec();
                        a.apply(&mut r);
                    }
                }
            }
        }
    }
}

#[test]
fn eval_fields_are_those_the_expression_reads() {
    use crate::ops::{Operator, command_for};
    let m = command_for(&Eval)
        .try_get_matches_from(["eval", "x = a + len(lower(${b c})) * a + user.id + 'lit'"])
        .expect("parses");
    assert_eq!(Eval.fields(&m), ["a", "b c", "user.id"]);
    let bad = command_for(&Eval)
        .try_get_matches_from(["eval", "x = (a"])
        .expect("clap takes any words");
    assert!(Eval.fields(&bad).is_empty());
}
