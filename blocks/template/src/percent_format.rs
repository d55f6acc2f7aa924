//! Python's `str % args` (printf-style formatting) as CPython 3.11 does it, for Jinja2's
//! `'%s items' % n`: conversions `s r a d i u o x X e E f F g G c %`, flags `-+ #0`, width
//! and precision (`*` takes them from the arguments), `%(key)s` with a mapping, and Python's
//! error messages. [`crate::percent_operator`] routes the template's `%` here.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use crate::python_repr::{python_str, repr};

/// What stands right of `%`: Python formats a tuple's items, any other value as one argument.
#[derive(Clone, Copy)]
pub enum Arguments<'a> {
    /// A tuple literal `(a, b)` in the template.
    Tuple(&'a [Value]),
    /// Any other operand, lists and dicts included.
    One(&'a Value),
}

/// `format % arguments`; an error carries Python's exception name and message.
pub fn percent_format(format: &str, arguments: Arguments) -> Result<String, Error> {
    let mut formatter = Formatter::new(format, arguments);
    formatter.run()?;
    Ok(formatter.out)
}

fn python_error(exception: &str, message: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{exception}: {message}"))
}

fn type_error(message: impl std::fmt::Display) -> Error {
    python_error("TypeError", message)
}

fn value_error(message: impl std::fmt::Display) -> Error {
    python_error("ValueError", message)
}

/// Jinja2 fails on an undefined value wherever Python needs more than its empty `str()`.
fn undefined_error() -> Error {
    Error::new(ErrorKind::UndefinedError, "the value to format is undefined")
}

/// The name of `type(value)` as Python would print it.
fn python_type_name(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "Undefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

/// Flags of one conversion specifier.
#[derive(Default)]
struct Spec {
    left_justify: bool,
    sign: bool,
    blank: bool,
    alternate: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// Where the next argument comes from: CPython's `args`, `arglen` and `argidx`.
enum Source<'a> {
    Tuple {
        items: &'a [Value],
        next: usize,
    },
    /// A single value, taken at most once (`%(key)` replaces it with the looked-up value).
    One {
        value: Value,
        taken: bool,
    },
}

struct Formatter<'a> {
    format: Vec<char>,
    position: usize,
    source: Source<'a>,
    /// Set when the right operand is a mapping (a dict, a list or an undefined value, as in
    /// Python): `%(key)` looks keys up in it and unused arguments are no error.
    mapping: Option<Value>,
    out: String,
}

impl<'a> Formatter<'a> {
    fn new(format: &str, arguments: Arguments<'a>) -> Self {
        let (source, mapping) = match arguments {
            Arguments::Tuple(items) => (Source::Tuple { items, next: 0 }, None),
            Arguments::One(value) => {
                let is_mapping = matches!(
                    value.kind(),
                    ValueKind::Map | ValueKind::Seq | ValueKind::Iterable | ValueKind::Undefined
                );
                (Source::One { value: value.clone(), taken: false }, is_mapping.then(|| value.clone()))
            }
        };
        Formatter { format: format.chars().collect(), position: 0, source, mapping, out: String::new() }
    }

    fn run(&mut self) -> Result<(), Error> {
        while let Some(c) = self.next_char() {
            if c != '%' {
                self.out.push(c);
                continue;
            }
            match self.next_char() {
                None => return Err(value_error("incomplete format")),
                Some('%') => self.out.push('%'),
                Some(c) => self.convert(c)?,
            }
            // Each width is bounded; many of them in one format must not add up past the limit.
            if self.out.len() > crate::MAX_OUTPUT_BYTES {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("formatted text exceeds {} bytes", crate::MAX_OUTPUT_BYTES),
                ));
            }
        }
        let unused = match &self.source {
            Source::Tuple { items, next } => *next < items.len(),
            Source::One { taken, .. } => !taken,
        };
        if unused && self.mapping.is_none() {
            return Err(type_error("not all arguments converted during string formatting"));
        }
        Ok(())
    }

    fn next_char(&mut self) -> Option<char> {
        let c = self.format.get(self.position).copied();
        self.position += usize::from(c.is_some());
        c
    }

    fn next_argument(&mut self) -> Result<Value, Error> {
        let missing = || type_error("not enough arguments for format string");
        match &mut self.source {
            Source::Tuple { items, next } => {
                let item = items.get(*next).cloned().ok_or_else(missing)?;
                *next += 1;
                Ok(item)
            }
            Source::One { value, taken } => {
                if *taken {
                    return Err(missing());
                }
                *taken = true;
                Ok(value.clone())
            }
        }
    }

    /// One specifier, from the character after `%`.
    fn convert(&mut self, first: char) -> Result<(), Error> {
        let mut c = Some(first);
        if c == Some('(') {
            self.look_up_key()?;
            c = self.next_char();
        }
        let mut spec = Spec::default();
        // Python reads flags, width, precision and a length modifier; running out of
        // characters anywhere in them is an incomplete format.
        loop {
            match c {
                Some('-') => spec.left_justify = true,
                Some('+') => spec.sign = true,
                Some(' ') => spec.blank = true,
                Some('#') => spec.alternate = true,
                Some('0') => spec.zero = true,
                _ => break,
            }
            c = self.next_char();
        }
        if c == Some('*') {
            let width = self.star_argument()?;
            if width < 0 {
                spec.left_justify = true;
            }
            spec.width = Some(within_output_limit(usize::try_from(width.unsigned_abs()).unwrap_or(usize::MAX))?);
            c = self.next_char();
        } else if let Some(digit) = c.and_then(|c| c.to_digit(10)) {
            let (width, after) = self.read_number(digit)?;
            spec.width = Some(width);
            c = after;
        }
        if c == Some('.') {
            spec.precision = Some(0);
            c = self.next_char();
            if c == Some('*') {
                let precision = self.star_argument()?;
                spec.precision = Some(within_output_limit(usize::try_from(precision.max(0)).unwrap_or(usize::MAX))?);
                c = self.next_char();
            } else if let Some(digit) = c.and_then(|c| c.to_digit(10)) {
                let (precision, after) = self.read_number(digit)?;
                spec.precision = Some(precision);
                c = after;
            }
        }
        if matches!(c, Some('h' | 'l' | 'L')) {
            c = self.next_char();
        }
        let Some(conversion) = c else {
            return Err(value_error("incomplete format"));
        };
        let value = self.next_argument()?;
        let (text, numeric) = self.converted(conversion, &value, &spec)?;
        write_padded(&mut self.out, &text, conversion, numeric, &spec);
        Ok(())
    }

    /// `%(key)`: the value of `key` in the mapping becomes the argument.
    fn look_up_key(&mut self) -> Result<(), Error> {
        let Some(mapping) = self.mapping.clone() else {
            return Err(type_error("format requires a mapping"));
        };
        let start = self.position;
        let mut depth = 1;
        while depth > 0 {
            match self.next_char() {
                Some(')') => depth -= 1,
                Some('(') => depth += 1,
                Some(_) => {}
                None => return Err(value_error("incomplete format key")),
            }
        }
        let key: String = self.format[start..self.position - 1].iter().collect();
        let value = match mapping.kind() {
            ValueKind::Undefined => return Err(undefined_error()),
            // A data object holds no undefined value: undefined is a missing key.
            ValueKind::Map => match mapping.get_item(&Value::from(key.as_str()))? {
                value if value.is_undefined() => return Err(python_error("KeyError", repr(&Value::from(key)))),
                value => value,
            },
            _ => {
                return Err(type_error(format!(
                    "{} indices must be integers or slices, not str",
                    python_type_name(&mapping)
                )));
            }
        };
        self.source = Source::One { value, taken: false };
        Ok(())
    }

    /// A width or precision given as `*`: the next argument, which must be an int.
    fn star_argument(&mut self) -> Result<i64, Error> {
        let value = self.next_argument()?;
        if !(value.is_integer() || value.kind() == ValueKind::Bool) {
            return Err(type_error("* wants int"));
        }
        i64::try_from(value).map_err(|_| python_error("OverflowError", "Python int too large to convert to C ssize_t"))
    }

    /// Digits of a width or precision, and the character after them.
    fn read_number(&mut self, first: u32) -> Result<(usize, Option<char>), Error> {
        let mut number = first as usize;
        loop {
            let c = self.next_char();
            match c.and_then(|c| c.to_digit(10)) {
                Some(digit) => number = within_output_limit(number * 10 + digit as usize)?,
                None => return Ok((number, c)),
            }
        }
    }

    /// The converted text, and whether it is a number (signed, zero-padded).
    fn converted(&self, conversion: char, value: &Value, spec: &Spec) -> Result<(String, bool), Error> {
        Ok(match conversion {
            's' => (python_str(value), false),
            'r' => (undefined_repr(value).unwrap_or_else(|| repr(value)), false),
            'a' => (ascii(&undefined_repr(value).unwrap_or_else(|| repr(value))), false),
            'd' | 'i' | 'u' | 'o' | 'x' | 'X' => (format_integer(value, conversion, spec)?, true),
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => (format_float(value, conversion, spec)?, true),
            'c' => (format_char(value)?.to_string(), false),
            other => {
                let shown = if (' '..='~').contains(&other) { other } else { '?' };
                return Err(value_error(format!(
                    "unsupported format character '{shown}' ({:#x}) at index {}",
                    other as u32,
                    self.position - 1
                )));
            }
        })
    }
}

fn undefined_repr(value: &Value) -> Option<String> {
    value.is_undefined().then(|| "Undefined".to_owned())
}

/// A width or precision no output could hold is refused before it is allocated.
fn within_output_limit(size: usize) -> Result<usize, Error> {
    if size > crate::MAX_OUTPUT_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("format width or precision {size} exceeds {} bytes", crate::MAX_OUTPUT_BYTES),
        ));
    }
    Ok(size)
}

/// Python's `ascii()` of a repr: non-ASCII characters as `\x..`, `\u....`, `\U........`.
fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c as u32 {
            0..=0x7f => out.push(c),
            code @ 0x80..=0xff => out.push_str(&format!("\\x{code:02x}")),
            code @ 0x100..=0xffff => out.push_str(&format!("\\u{code:04x}")),
            code => out.push_str(&format!("\\U{code:08x}")),
        }
    }
    out
}

/// An integer's sign and magnitude, from an int, a bool or (for `d i u`) a float.
fn integer_parts(value: &Value, conversion: char) -> Result<(bool, String), Error> {
    let not_a_number = || match conversion {
        'o' | 'x' | 'X' => {
            type_error(format!("%{conversion} format: an integer is required, not {}", python_type_name(value)))
        }
        _ => type_error(format!("%{conversion} format: a real number is required, not {}", python_type_name(value))),
    };
    let magnitude = |magnitude: u128| match conversion {
        'o' => format!("{magnitude:o}"),
        'x' | 'X' => format!("{magnitude:x}"),
        _ => magnitude.to_string(),
    };
    match value.kind() {
        // `int()` of an undefined value raises Jinja2's error; `%x`'s `__index__` is a TypeError.
        ValueKind::Undefined if !matches!(conversion, 'o' | 'x' | 'X') => Err(undefined_error()),
        ValueKind::Bool => Ok((false, magnitude(u128::from(value.is_true())))),
        ValueKind::Number if value.is_integer() => {
            if let Ok(signed) = i128::try_from(value.clone()) {
                Ok((signed < 0, magnitude(signed.unsigned_abs())))
            } else {
                Ok((false, magnitude(u128::try_from(value.clone())?)))
            }
        }
        ValueKind::Number if !matches!(conversion, 'o' | 'x' | 'X') => {
            let float = f64::try_from(value.clone())?;
            if float.is_nan() {
                return Err(value_error("cannot convert float NaN to integer"));
            }
            if float.is_infinite() {
                return Err(python_error("OverflowError", "cannot convert float infinity to integer"));
            }
            // `int(x)` truncates; formatting an integral float writes its exact digits.
            let truncated = float.trunc();
            Ok((truncated < 0.0, format!("{:.0}", truncated.abs())))
        }
        _ => Err(not_a_number()),
    }
}

/// CPython's `_PyUnicode_FormatLong`: sign, `0x`/`0o` under `#`, digits zero-filled to the
/// precision, upper case for `X`.
fn format_integer(value: &Value, conversion: char, spec: &Spec) -> Result<String, Error> {
    let (negative, digits) = integer_parts(value, conversion)?;
    let precision = within_output_limit(spec.precision.unwrap_or(0))?;
    let mut text = String::new();
    if negative {
        text.push('-');
    }
    if spec.alternate {
        match conversion {
            'o' => text.push_str("0o"),
            'x' | 'X' => text.push_str("0x"),
            _ => {}
        }
    }
    text.push_str(&"0".repeat(precision.saturating_sub(digits.len())));
    text.push_str(&digits);
    if conversion == 'X' {
        text = text.to_uppercase();
    }
    Ok(text)
}

/// `float(value)` for `e f g`: ints and bools convert, anything else is a TypeError.
fn float_of(value: &Value) -> Result<f64, Error> {
    match value.kind() {
        ValueKind::Undefined => Err(undefined_error()),
        ValueKind::Bool => Ok(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => Ok(f64::try_from(value.clone())?),
        _ => Err(type_error(format!("must be real number, not {}", python_type_name(value)))),
    }
}

/// CPython's `PyOS_double_to_string` for `e E f F g G` (precision 6 unless given).
fn format_float(value: &Value, conversion: char, spec: &Spec) -> Result<String, Error> {
    let number = float_of(value)?;
    let precision = within_output_limit(spec.precision.unwrap_or(6))?;
    let upper = conversion.is_ascii_uppercase();
    let text = if !number.is_finite() {
        let text = if number.is_nan() {
            "nan"
        } else if number > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        text.to_owned()
    } else {
        match conversion.to_ascii_lowercase() {
            'e' => exponential(number, precision, spec.alternate),
            'f' => fixed(number, precision, spec.alternate),
            _ => general(number, precision, spec.alternate),
        }
    };
    Ok(if upper { text.to_uppercase() } else { text })
}

/// `%.{precision}f`; `#` keeps the point even without decimals.
fn fixed(number: f64, precision: usize, alternate: bool) -> String {
    let mut text = format!("{number:.precision$}");
    if alternate && precision == 0 {
        text.push('.');
    }
    text
}

/// `%.{precision}e` with Python's exponent (sign and at least two digits).
fn exponential(number: f64, precision: usize, alternate: bool) -> String {
    let text = format!("{number:.precision$e}");
    let (mantissa, exponent) = text.split_once('e').expect("`{:e}` writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");
    let point = if alternate && precision == 0 { "." } else { "" };
    format!("{mantissa}{point}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
}

/// `%g`: `precision` significant digits, positional unless the exponent is below -4 or
/// reaches the precision; trailing zeros dropped unless `#`.
fn general(number: f64, precision: usize, alternate: bool) -> String {
    let significant = precision.max(1);
    let rounded = format!("{:.*e}", significant - 1, number);
    let exponent: i64 = rounded.split_once('e').and_then(|(_, e)| e.parse().ok()).expect("`{:e}` writes an exponent");
    let mut text = if -4 <= exponent && exponent < significant as i64 {
        format!("{:.*}", (significant as i64 - 1 - exponent) as usize, number)
    } else {
        exponential(number, significant - 1, false)
    };
    let (body, exponent_part) = match text.find('e') {
        Some(index) => (text[..index].to_owned(), text[index..].to_owned()),
        None => (text.clone(), String::new()),
    };
    let body = if alternate {
        if body.contains('.') { body } else { format!("{body}.") }
    } else if body.contains('.') {
        body.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        body
    };
    text = format!("{body}{exponent_part}");
    text
}

/// `%c`: an int is a code point, a one-character string is itself.
fn format_char(value: &Value) -> Result<char, Error> {
    match value.kind() {
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(type_error("%c requires int or char")),
            }
        }
        ValueKind::Bool | ValueKind::Number if value.is_integer() || value.kind() == ValueKind::Bool => {
            let code = match value.kind() {
                ValueKind::Bool => Some(i128::from(value.is_true())),
                _ => i128::try_from(value.clone()).ok(),
            };
            code.and_then(|code| u32::try_from(code).ok())
                .filter(|code| *code < 0x11_0000)
                .map(|code| char::from_u32(code).ok_or_else(|| value_error("%c arg is a surrogate code point")))
                .unwrap_or_else(|| Err(python_error("OverflowError", "%c arg not in range(0x110000)")))
        }
        _ => Err(type_error("%c requires int or char")),
    }
}

/// CPython's `unicode_format_arg_output`: precision cuts `s r a`, a number gets its sign
/// (`+`/` ` flags) and may be zero-filled after its sign and `0x`, the rest pads to width.
fn write_padded(out: &mut String, text: &str, conversion: char, numeric: bool, spec: &Spec) {
    let chars: Vec<char> = text.chars().collect();
    let mut length = chars.len();
    if let (Some(precision), 's' | 'r' | 'a') = (spec.precision, conversion) {
        length = length.min(precision);
    }
    let fill = if numeric && spec.zero { '0' } else { ' ' };
    let mut start = 0;
    let mut sign = None;
    if numeric {
        match chars.first() {
            Some(c @ ('-' | '+')) => {
                sign = Some(*c);
                start = 1;
                length -= 1;
            }
            _ if spec.sign => sign = Some('+'),
            _ if spec.blank => sign = Some(' '),
            _ => {}
        }
    }
    let mut width = spec.width.unwrap_or(0).max(length);
    let prefixed = spec.alternate && matches!(conversion, 'x' | 'X' | 'o');
    if let Some(sign) = sign {
        if fill != ' ' {
            out.push(sign);
        }
        if width > length {
            width -= 1;
        }
    }
    if prefixed {
        if fill != ' ' {
            out.extend(&chars[start..start + 2]);
            start += 2;
        }
        width = width.saturating_sub(2);
        length -= 2;
    }
    if width > length && !spec.left_justify {
        out.extend(std::iter::repeat_n(fill, width - length));
        width = length;
    }
    if fill == ' ' {
        if let Some(sign) = sign {
            out.push(sign);
        }
        if prefixed {
            out.extend(&chars[start..start + 2]);
            start += 2;
        }
    }
    out.extend(&chars[start..start + length]);
    if width > length {
        out.extend(std::iter::repeat_n(' ', width - length));
    }
}
