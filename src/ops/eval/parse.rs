//! eval's language, from text to a tree: `NAME = EXPR` with numbers,
//! fields (dotted names, or any name as `${name}`), `'text'`, `+ - * / %`,
//! unary minus, parentheses and the few functions of [`Func`]. Parsed once
//! at start; an error says at which column (in characters, from 1) of the
//! text it is, and what was expected there.

use std::borrow::Cow;

use crate::value::{Num, parse_num};

/// How deep an expression may nest (parentheses, operators, calls): far
/// beyond what a person writes, and shallow enough that neither parsing nor
/// evaluating can exhaust the stack.
pub const MAX_DEPTH: usize = 200;

/// `NAME = EXPR`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub name: Cow<'static, str>,
    pub expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(Num),
    /// A text literal; [`Expr::leak_literals`] makes it `'static`.
    Text(Cow<'static, str>),
    Field(String),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Round,
    Floor,
    Ceil,
    Abs,
    Min,
    Max,
    Num,
    Len,
    Lower,
    Upper,
    Concat,
}

/// Every function: its name, the fewest and the most arguments it takes
/// (`usize::MAX`: any number), and how its arguments are written.
const FUNCS: &[(&str, Func, usize, usize, &str)] = &[
    ("round", Func::Round, 1, 2, "round(x) or round(x, digits)"),
    ("floor", Func::Floor, 1, 1, "floor(x)"),
    ("ceil", Func::Ceil, 1, 1, "ceil(x)"),
    ("abs", Func::Abs, 1, 1, "abs(x)"),
    ("min", Func::Min, 2, usize::MAX, "min(a, b)"),
    ("max", Func::Max, 2, usize::MAX, "max(a, b)"),
    ("num", Func::Num, 1, 1, "num(x)"),
    ("len", Func::Len, 1, 1, "len(x)"),
    ("lower", Func::Lower, 1, 1, "lower(x)"),
    ("upper", Func::Upper, 1, 1, "upper(x)"),
    ("concat", Func::Concat, 1, usize::MAX, "concat(a, b, ...)"),
];

/// The names of the functions, for help texts.
pub fn function_names() -> impl Iterator<Item = &'static str> {
    FUNCS.iter().map(|f| f.0)
}

/// What is wrong, and where: `column` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl Expr {
    /// The fields the expression reads, each once, in order.
    pub fn fields(&self, out: &mut Vec<String>) {
        match self {
            Expr::Field(name) => {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
            Expr::Num(_) | Expr::Text(_) => {}
            Expr::Neg(e) => e.fields(out),
            Expr::Bin(_, a, b) => {
                a.fields(out);
                b.fields(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.fields(out)),
        }
    }

    /// Makes every text literal `'static` (leaked once, for the life of
    /// the run), so that a record can take it without a copy.
    pub fn leak_literals(&mut self) {
        match self {
            Expr::Text(t) => {
                if let Cow::Owned(s) = t {
                    *t = Cow::Borrowed(Box::leak(std::mem::take(s).into_boxed_str()));
                }
            }
            Expr::Num(_) | Expr::Field(_) => {}
            Expr::Neg(e) => e.leak_literals(),
            Expr::Bin(_, a, b) => {
                a.leak_literals();
                b.leak_literals();
            }
            Expr::Call(_, args) => args.iter_mut().for_each(Expr::leak_literals),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(Num),
    /// A bare name: letters, digits, `_` and inner dots.
    Name(String),
    /// `${...}`.
    Braced(String),
    Text(String),
    Op(BinOp),
    Open,
    Close,
    Comma,
    Assign,
    End,
}

/// A token and the byte offset where it starts.
type Spanned = (Tok, usize);

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(_) => "a number".into(),
        Tok::Name(n) => format!("'{n}'"),
        Tok::Braced(n) => format!("'${{{n}}}'"),
        Tok::Text(_) => "a text".into(),
        Tok::Op(op) => format!("'{}'", op_char(*op)),
        Tok::Open => "'('".into(),
        Tok::Close => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Assign => "'='".into(),
        Tok::End => "the end of the expression".into(),
    }
}

fn op_char(op: BinOp) -> char {
    match op {
        BinOp::Add => '+',
        BinOp::Sub => '-',
        BinOp::Mul => '*',
        BinOp::Div => '/',
        BinOp::Rem => '%',
    }
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

struct Lexer<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Lexer<'t> {
    fn err(&self, at: usize, message: impl Into<String>) -> (usize, String) {
        (at, message.into())
    }

    fn next(&mut self) -> Result<Spanned, (usize, String)> {
        let b = self.text.as_bytes();
        while let Some(c) = self.text[self.at..].chars().next() {
            if !c.is_whitespace() {
                break;
            }
            self.at += c.len_utf8();
        }
        let start = self.at;
        let Some(&c) = b.get(start) else {
            return Ok((Tok::End, start));
        };
        let one = |t: Tok, me: &mut Self| {
            me.at += 1;
            Ok((t, start))
        };
        match c {
            b'+' => one(Tok::Op(BinOp::Add), self),
            b'-' => one(Tok::Op(BinOp::Sub), self),
            b'*' => one(Tok::Op(BinOp::Mul), self),
            b'/' => one(Tok::Op(BinOp::Div), self),
            b'%' => one(Tok::Op(BinOp::Rem), self),
            b'(' => one(Tok::Open, self),
            b')' => one(Tok::Close, self),
            b',' => one(Tok::Comma, self),
            b'=' => one(Tok::Assign, self),
            b'0'..=b'9' => self.number(),
            b'.' if b.get(start + 1).is_some_and(u8::is_ascii_digit) => self.number(),
            b'\'' | b'"' => self.text_literal(c),
            b'$' => self.braced(),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut end = start;
                loop {
                    while b.get(end).copied().is_some_and(is_name_char) {
                        end += 1;
                    }
                    // a dot goes on a dotted name only when a name part follows
                    if b.get(end) == Some(&b'.')
                        && b.get(end + 1).copied().is_some_and(is_name_char)
                    {
                        end += 1;
                    } else {
                        break;
                    }
                }
                self.at = end;
                Ok((Tok::Name(self.text[start..end].to_string()), start))
            }
            _ => {
                let ch = self.text[start..].chars().next().unwrap_or('?');
                Err(self.err(
                    start,
                    format!(
                        "unexpected '{ch}'; a field whose name has other characters than \
                         letters, digits, _ and . is written ${{name}}"
                    ),
                ))
            }
        }
    }

    /// Digits with an optional fraction and exponent: an integer when it
    /// fits in 64 bits, else a float.
    fn number(&mut self) -> Result<Spanned, (usize, String)> {
        let b = self.text.as_bytes();
        let start = self.at;
        let mut end = start;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        end = digits(end);
        if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end = digits(end + 1);
        }
        if matches!(b.get(end), Some(b'e' | b'E')) {
            let mut e = end + 1;
            if matches!(b.get(e), Some(b'+' | b'-')) {
                e += 1;
            }
            if b.get(e).is_some_and(u8::is_ascii_digit) {
                end = digits(e);
            }
        }
        self.at = end;
        let text = &self.text[start..end];
        match parse_num(text) {
            Some(n) => Ok((Tok::Num(n), start)),
            None => Err(self.err(start, format!("the number {text} is too large"))),
        }
    }

    /// `'text'` or `"text"`; a backslash escapes the quote, itself, `n`
    /// and `t`, and is kept before any other character.
    fn text_literal(&mut self, quote: u8) -> Result<Spanned, (usize, String)> {
        let start = self.at;
        let mut out = String::new();
        let mut chars = self.text[start + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c as u32 == u32::from(quote) {
                self.at = start + 1 + i + 1;
                return Ok((Tok::Text(out), start));
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, e)) if e == '\\' || e as u32 == u32::from(quote) => out.push(e),
                    Some((_, e)) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        Err(self.err(
            start,
            format!(
                "the text that starts here has no closing {}",
                char::from(quote)
            ),
        ))
    }

    /// `${name}`: any name but an empty one.
    fn braced(&mut self) -> Result<Spanned, (usize, String)> {
        let start = self.at;
        let rest = &self.text[start..];
        if !rest.starts_with("${") {
            return Err(self.err(start, "unexpected '$'; a field is written name or ${name}"));
        }
        let Some(close) = rest.find('}') else {
            return Err(self.err(start, "'${' has no closing '}'"));
        };
        let name = &rest[2..close];
        if name.is_empty() {
            return Err(self.err(start, "'${}' names no field"));
        }
        self.at = start + close + 1;
        Ok((Tok::Braced(name.to_string()), start))
    }
}

struct Parser<'t> {
    lex: Lexer<'t>,
    tok: Tok,
    /// Where the current token starts (a byte offset).
    at: usize,
    /// How deep the tree being built is at this point.
    depth: usize,
}

type PResult<T> = Result<T, (usize, String)>;

impl<'t> Parser<'t> {
    fn bump(&mut self) -> PResult<Tok> {
        let (next, at) = self.lex.next()?;
        self.at = at;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn expected(&self, what: &str) -> (usize, String) {
        (
            self.at,
            format!("expected {what}, found {}", describe(&self.tok)),
        )
    }

    fn deeper(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err((
                self.at,
                format!("the expression nests more than {MAX_DEPTH} deep"),
            ));
        }
        Ok(())
    }

    /// `expr := term (('+' | '-') term)*`; every operator adds a level to
    /// the tree, which [`Parser::deeper`] bounds.
    fn expr(&mut self) -> PResult<Expr> {
        let depth = self.depth;
        let mut left = self.term()?;
        while let Tok::Op(op @ (BinOp::Add | BinOp::Sub)) = self.tok {
            self.bump()?;
            self.deeper()?;
            let right = self.term()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        self.depth = depth;
        Ok(left)
    }

    fn term(&mut self) -> PResult<Expr> {
        let depth = self.depth;
        let mut left = self.unary()?;
        while let Tok::Op(op @ (BinOp::Mul | BinOp::Div | BinOp::Rem)) = self.tok {
            self.bump()?;
            self.deeper()?;
            let right = self.unary()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        self.depth = depth;
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.tok == Tok::Op(BinOp::Sub) {
            self.bump()?;
            self.deeper()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(match e {
                // a literal folds, so that -5 is the number -5
                Expr::Num(Num::Int(i)) if i != i64::MIN => Expr::Num(Num::Int(-i)),
                Expr::Num(Num::Float(f)) => Expr::Num(Num::Float(-f)),
                e => Expr::Neg(Box::new(e)),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        let at = self.at;
        match self.bump()? {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Text(t) => Ok(Expr::Text(Cow::Owned(t))),
            Tok::Braced(n) => Ok(Expr::Field(n)),
            Tok::Name(n) if self.tok == Tok::Open => self.call(&n, at),
            Tok::Name(n) => Ok(Expr::Field(n)),
            Tok::Open => {
                self.deeper()?;
                let e = self.expr()?;
                self.depth -= 1;
                if self.tok != Tok::Close {
                    let open = col(self.lex.text, at);
                    return Err(self.expected(&format!("')' to close the '(' at column {open}")));
                }
                self.bump()?;
                Ok(e)
            }
            other => {
                self.tok = other;
                self.at = at;
                Err(self.expected("a number, a field, a 'text', a function or '('"))
            }
        }
    }

    fn call(&mut self, name: &str, at: usize) -> PResult<Expr> {
        let Some(&(_, func, min, max, how)) = FUNCS.iter().find(|f| f.0 == name) else {
            let hint = match crate::suggest::closest(name, function_names()) {
                Some(s) => format!("did you mean '{s}'?"),
                None => format!(
                    "the functions are {}",
                    function_names().collect::<Vec<_>>().join(", ")
                ),
            };
            return Err((at, format!("unknown function '{name}'; {hint}")));
        };
        self.bump()?; // (
        self.deeper()?;
        let mut args = Vec::new();
        if self.tok != Tok::Close {
            loop {
                args.push(self.expr()?);
                match self.tok {
                    Tok::Comma => {
                        self.bump()?;
                    }
                    Tok::Close => break,
                    _ => return Err(self.expected(&format!("',' or ')' in {name}(...)"))),
                }
            }
        }
        self.bump()?; // )
        self.depth -= 1;
        if args.len() < min || args.len() > max {
            let n = args.len();
            let s = if n == 1 { "" } else { "s" };
            return Err((at, format!("{name} takes {how}, not {n} argument{s}")));
        }
        Ok(Expr::Call(func, args))
    }
}

/// The column (in characters, from 1) of byte offset `at`.
fn col(text: &str, at: usize) -> usize {
    text.get(..at).map_or(at, |t| t.chars().count()) + 1
}

/// Parses `NAME = EXPR`.
pub fn parse(text: &str) -> Result<Assignment, ParseError> {
    let mut p = Parser {
        lex: Lexer { text, at: 0 },
        tok: Tok::End,
        at: 0,
        depth: 0,
    };
    let res = (|| {
        p.bump()?;
        let name = match p.bump()? {
            Tok::Name(n) | Tok::Braced(n) => n,
            Tok::End => {
                return Err((
                    0,
                    "needs NAME = EXPR, e.g. eval 'kb = bytes / 1024'".to_string(),
                ));
            }
            other => {
                p.tok = other;
                p.at = 0;
                return Err(p.expected("the name of the field to set"));
            }
        };
        if p.tok != Tok::Assign {
            return Err(p.expected(&format!("'=' after '{name}'")));
        }
        p.bump()?;
        if p.tok == Tok::Assign {
            return Err((
                p.at,
                "'==' compares; eval sets a field with one '=': NAME = EXPR".to_string(),
            ));
        }
        let expr = p.expr()?;
        if p.tok != Tok::End {
            let what = match p.tok {
                Tok::Close => "a ')' that closes no '('".to_string(),
                ref t => format!("{} after a complete expression", describe(t)),
            };
            return Err((p.at, format!("unexpected {what}")));
        }
        Ok(Assignment {
            name: Cow::Owned(name),
            expr,
        })
    })();
    res.map_err(|(at, message)| ParseError {
        column: col(text, at),
        message,
    })
}
