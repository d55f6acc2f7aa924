//! `JqVal`: jaq's JSON value with jq's behaviour where jaq's differs, and the block's size limits.
//!
//! jaq computes `1/0` as infinity, repeats strings without bound, refuses to update `null` or
//! past the end of an array, and words its errors its own way. Those operations live on the value
//! type, so this newtype over `jaq_json::Val` takes them over and hands the rest to jaq.

use core::fmt;
use std::cell::Cell;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

use jaq_core::path::Opt;
use jaq_core::{Error, Exn, ValR, ValX, val};
use jaq_json::{Num, Val};

/// The longest string or array an operation may build, so no input can exhaust the guest's memory.
pub const MAX_COLLECTION_LEN: usize = 16 << 20;
/// The most values `[f]` may collect: about 16 MiB of jaq values, where a guest's memory limit
/// would otherwise end the run with a trap rather than an error naming the limit.
pub const MAX_COLLECTED_LEN: usize = 1 << 20;
/// jq's own ceiling on array indices that an assignment may pad up to.
const MAX_ARRAY_INDEX: usize = 536_870_912;

/// A jq value: jaq's, with jq's arithmetic, updates and error messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JqVal(pub Val);

type Result<T> = ValR<T, JqVal>;

/// jq's error text: a string value.
pub fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::new(JqVal::from(message.into())))
}

/// jq's name for the type of `value`.
pub fn type_name(value: &Val) -> &'static str {
    match value {
        Val::Null => "null",
        Val::Bool(_) => "boolean",
        Val::Num(_) => "number",
        Val::TStr(_) | Val::BStr(_) => "string",
        Val::Arr(_) => "array",
        Val::Obj(_) => "object",
    }
}

/// `type (json)` as jq puts a value in an error, the JSON cut to jq's 29 bytes.
pub fn describe(value: &Val) -> String {
    const MAX_DUMP: usize = 29;
    let dump = value.to_string();
    if dump.len() <= MAX_DUMP {
        return format!("{} ({dump})", type_name(value));
    }
    // Strings, arrays and objects keep their closing delimiter after the ellipsis.
    let closing = match value {
        Val::TStr(_) | Val::BStr(_) => "\"",
        Val::Arr(_) => "]",
        Val::Obj(_) => "}",
        _ => "",
    };
    let mut cut = MAX_DUMP - 3 - closing.len();
    while !dump.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{} ({}...{closing})", type_name(value), &dump[..cut])
}

/// A number as a double, as jq computes with it.
pub fn num_f64(n: &Num) -> f64 {
    jaq_std::ValT::as_f64(&Val::Num(n.clone())).unwrap_or(f64::NAN)
}

fn number(value: &Val) -> Option<f64> {
    match value {
        Val::Num(n) => Some(num_f64(n)),
        _ => None,
    }
}

fn string_len(value: &Val) -> Option<usize> {
    match value {
        Val::TStr(s) | Val::BStr(s) => Some(s.len()),
        _ => None,
    }
}

fn too_long<T>(what: &str) -> Result<T> {
    fail(format!("{what} result too long: over the block's limit of {MAX_COLLECTION_LEN} bytes"))
}

/// jq reads a fractional index or slice bound as an integer: indices and starts round down, ends up.
/// Decimal literals (`1.5` in the filter) count as fractions too; NaN counts as 0.
fn integral(value: &Val, round_up: bool) -> Val {
    match value {
        Val::Num(n @ (Num::Float(_) | Num::Dec(_))) => {
            let f = num_f64(n);
            let f = if f.is_nan() {
                0.0
            } else if round_up {
                f.ceil()
            } else {
                f.floor()
            };
            if f.abs() < isize::MAX as f64 { Val::from(f as isize) } else { Val::from(f) }
        }
        other => other.clone(),
    }
}

fn is_nan(value: &Val) -> bool {
    matches!(value, Val::Num(n) if num_f64(n).is_nan())
}

/// A slice's bounds as jq reads them: a NaN end reaches the end.
fn integral_range(range: val::Range<&JqVal>) -> val::Range<Val> {
    let end = range.end.filter(|end| !is_nan(&end.0));
    range.start.map(|start| integral(&start.0, false))..end.map(|end| integral(&end.0, true))
}

/// Moves an exception between the wrapped and the plain value type: errors keep their value, halts their code.
fn convert_exn<'a, A: fmt::Display + From<String>, B: From<A> + From<String>>(exn: Exn<'a, A>) -> Exn<'a, B> {
    match exn.get_err() {
        Ok(error) => Exn::from(Error::new(B::from(error.into_val()))),
        Err(exn) => match exn.get_halt() {
            Ok(code) => Exn::halt(code),
            Err(_) => Exn::from(Error::new(B::from("break out of an update is not supported".to_string()))),
        },
    }
}

/// Rewords jaq's error from an operation on `value` into jq's.
fn reword<T>(result: ValR<T, Val>, jq_message: impl FnOnce() -> String) -> Result<T> {
    result.map_err(|_| Error::new(JqVal::from(jq_message())))
}

fn wrap<T>(result: ValR<T, Val>) -> Result<T> {
    result.map_err(|error| Error::new(JqVal(error.into_val())))
}

/// The outputs of an update function over `JqVal`, as jaq's own value type.
type Lifted<'a, I> = std::iter::Map<I, fn(ValX<'a, JqVal>) -> ValX<'a, Val>>;

fn lift<'a, I: Iterator<Item = ValX<'a, JqVal>>>(f: impl Fn(JqVal) -> I) -> impl Fn(Val) -> Lifted<'a, I> {
    move |value| f(JqVal(value)).map(|out| out.map(|v| v.0).map_err(convert_exn))
}

fn lower<'a>(result: ValX<'a, Val>) -> ValX<'a, JqVal> {
    result.map(JqVal).map_err(convert_exn)
}

/// jq's message for indexing a value of type `value_type` with `index` (built only on failure:
/// it is a good share of an index's work).
fn index_message(value_type: &str, index: &Val) -> String {
    let index = match index {
        Val::Null | Val::Bool(_) => type_name(index).to_string(),
        _ => describe(index),
    };
    format!("Cannot index {value_type} with {index}")
}

impl fmt::Display for JqVal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Val> for JqVal {
    fn from(value: Val) -> Self {
        Self(value)
    }
}

impl From<JqVal> for Val {
    fn from(value: JqVal) -> Self {
        value.0
    }
}

impl From<bool> for JqVal {
    fn from(b: bool) -> Self {
        Self(Val::from(b))
    }
}

impl From<isize> for JqVal {
    fn from(i: isize) -> Self {
        Self(Val::from(i))
    }
}

impl From<usize> for JqVal {
    fn from(i: usize) -> Self {
        Self(Val::from(i))
    }
}

impl From<f64> for JqVal {
    fn from(f: f64) -> Self {
        Self(Val::from(f))
    }
}

impl From<String> for JqVal {
    fn from(s: String) -> Self {
        Self(Val::from(s))
    }
}

impl From<val::Range<JqVal>> for JqVal {
    fn from(range: val::Range<JqVal>) -> Self {
        Self(Val::from(range.start.map(|v| v.0)..range.end.map(|v| v.0)))
    }
}

std::thread_local! {
    /// Whether an array was cut at [`MAX_COLLECTED_LEN`] since the run began.
    static COLLECTION_CUT: Cell<bool> = const { Cell::new(false) };
}

/// Forgets earlier cuts: a run calls this before it starts.
pub fn clear_collection_cut() {
    COLLECTION_CUT.set(false);
}

/// Whether an array was cut since [`clear_collection_cut`]: the run must then fail, as its values are wrong.
pub fn collection_was_cut() -> bool {
    COLLECTION_CUT.get()
}

// jaq collects `[f]` through here, which cannot fail, so an array that would pass the limit is
// cut short and flagged; the run reports the cut instead of any later output.
impl FromIterator<JqVal> for JqVal {
    fn from_iter<T: IntoIterator<Item = JqVal>>(iter: T) -> Self {
        let mut items = Vec::new();
        for item in iter {
            if items.len() == MAX_COLLECTED_LEN {
                COLLECTION_CUT.set(true);
                break;
            }
            items.push(item.0);
        }
        Self(Val::Arr(items.into()))
    }
}

impl Add for JqVal {
    type Output = Result<JqVal>;
    fn add(self, rhs: Self) -> Self::Output {
        if let (Some(l), Some(r)) = (string_len(&self.0), string_len(&rhs.0))
            && l + r > MAX_COLLECTION_LEN
        {
            return too_long("String concatenation");
        }
        binary(self.0, rhs.0, |l, r| l + r, "added")
    }
}

/// `op(l, r)`, failing with jq's `<l> and <r> cannot be <done>`: the message is built only on
/// failure, as describing the operands is most of the work of `1 + 1`.
fn binary(l: Val, r: Val, op: impl FnOnce(Val, Val) -> ValR<Val, Val>, done: &str) -> Result<JqVal> {
    let operands = (l.clone(), r.clone());
    reword(op(l, r), || format!("{} and {} cannot be {done}", describe(&operands.0), describe(&operands.1))).map(JqVal)
}

impl Sub for JqVal {
    type Output = Result<JqVal>;
    fn sub(self, rhs: Self) -> Self::Output {
        binary(self.0, rhs.0, |l, r| l - r, "subtracted")
    }
}

impl Mul for JqVal {
    type Output = Result<JqVal>;
    fn mul(self, rhs: Self) -> Self::Output {
        let (text, times) = match (&self.0, &rhs.0) {
            (text @ (Val::TStr(_) | Val::BStr(_)), Val::Num(n))
            | (Val::Num(n), text @ (Val::TStr(_) | Val::BStr(_))) => (text.clone(), num_f64(n)),
            _ => {
                if merge_depth(&self.0, &rhs.0, MAX_MERGE_DEPTH + 1) > MAX_MERGE_DEPTH {
                    return fail("Object merge too deep");
                }
                return binary(self.0, rhs.0, |l, r| l * r, "multiplied");
            }
        };
        // jq: a negative count (or NaN) gives null, a fractional one counts its whole part.
        if times.is_nan() || times < 0.0 {
            return Ok(JqVal(Val::Null));
        }
        let times = times.floor();
        let len = string_len(&text).unwrap_or(0);
        // jq refuses results of `INT_MAX` bytes and more with its own words; the block refuses sooner.
        if len as f64 * times >= f64::from(i32::MAX) {
            return fail("Repeat string result too long");
        }
        if len as f64 * times > MAX_COLLECTION_LEN as f64 {
            return too_long("Repeat string");
        }
        if times == 0.0 {
            return Ok(JqVal(Val::utf8_str(Vec::new())));
        }
        wrap(text * Val::from(times as isize)).map(JqVal)
    }
}

/// The deepest nesting of objects that jq merges recursively (jq 1.8 refuses deeper ones).
const MAX_MERGE_DEPTH: usize = 10_001;

/// How many levels of objects a recursive merge of `l` and `r` descends, counted up to `limit`.
fn merge_depth(l: &Val, r: &Val, limit: usize) -> usize {
    let (Val::Obj(l), Val::Obj(r)) = (l, r) else {
        return 0;
    };
    if limit == 0 {
        return 0;
    }
    let deepest = r.iter().filter_map(|(key, r)| l.get(key).map(|l| merge_depth(l, r, limit - 1))).max();
    1 + deepest.unwrap_or(0)
}

/// How many levels of arrays and objects `value` nests, counted up to `limit`.
pub fn depth(value: &Val, limit: usize) -> usize {
    let children: Box<dyn Iterator<Item = &Val>> = match value {
        Val::Arr(items) => Box::new(items.iter()),
        Val::Obj(entries) => Box::new(entries.values()),
        _ => return 0,
    };
    if limit == 0 {
        return 0;
    }
    1 + children.map(|child| depth(child, limit - 1)).max().unwrap_or(0)
}

impl Div for JqVal {
    type Output = Result<JqVal>;
    fn div(self, rhs: Self) -> Self::Output {
        if number(&self.0).is_some() && number(&rhs.0) == Some(0.0) {
            let message =
                format!("{} and {} cannot be divided because the divisor is zero", describe(&self.0), describe(&rhs.0));
            return fail(message);
        }
        binary(self.0, rhs.0, |l, r| l / r, "divided")
    }
}

impl Rem for JqVal {
    type Output = Result<JqVal>;
    fn rem(self, rhs: Self) -> Self::Output {
        let describe_both = || format!("{} and {}", describe(&self.0), describe(&rhs.0));
        let (Some(l), Some(r)) = (number(&self.0), number(&rhs.0)) else {
            return fail(format!("{} cannot be divided", describe_both()));
        };
        // jq 1.8: NaN on either side gives NaN, before the divisor is checked.
        if l.is_nan() || r.is_nan() {
            return Ok(JqVal::from(f64::NAN));
        }
        // jq takes the remainder of the operands truncated to integers (saturating).
        let (l, r) = (l as i64, r as i64);
        if r == 0 {
            return fail(format!("{} cannot be divided (remainder) because the divisor is zero", describe_both()));
        }
        Ok(JqVal::from(l.wrapping_rem(r) as isize))
    }
}

impl Neg for JqVal {
    type Output = Result<JqVal>;
    fn neg(self) -> Self::Output {
        let operand = self.0.clone();
        reword(-self.0, || format!("{} cannot be negated", describe(&operand))).map(JqVal)
    }
}

impl jaq_core::ValT for JqVal {
    fn from_num(n: &str) -> Result<Self> {
        wrap(Val::from_num(n)).map(JqVal)
    }

    fn from_map<I: IntoIterator<Item = (Self, Self)>>(iter: I) -> Result<Self> {
        let mut entries = Vec::new();
        for (key, value) in iter {
            if !matches!(key.0, Val::TStr(_)) {
                return fail(format!("Object keys must be strings, not {}", describe(&key.0)));
            }
            entries.push((key.0, value.0));
        }
        wrap(Val::from_map(entries)).map(JqVal)
    }

    fn key_values(self) -> jaq_core::box_iter::BoxIter<'static, Result<(Self, Self)>> {
        if !matches!(self.0, Val::Arr(_) | Val::Obj(_)) {
            return Box::new(std::iter::once(fail(format!("Cannot iterate over {}", describe(&self.0)))));
        }
        Box::new(self.0.key_values().map(|kv| wrap(kv).map(|(k, v)| (JqVal(k), JqVal(v)))))
    }

    fn values(self) -> Box<dyn Iterator<Item = Result<Self>>> {
        if !matches!(self.0, Val::Arr(_) | Val::Obj(_)) {
            return Box::new(std::iter::once(fail(format!("Cannot iterate over {}", describe(&self.0)))));
        }
        Box::new(self.0.values().map(|v| wrap(v).map(JqVal)))
    }

    fn index(self, index: &Self) -> Result<Self> {
        // jaq hands slices `.[s:e]` over as an index object, whose bounds jq may give as fractions.
        if let (Val::Arr(_) | Val::TStr(_) | Val::BStr(_), Val::Obj(bounds)) = (&self.0, &index.0) {
            let bound = |name: &str| bounds.get(&Val::utf8_str(name.as_bytes().to_vec())).cloned().map(JqVal);
            let (start, end) = (bound("start"), bound("end"));
            return self.range(start.as_ref()..end.as_ref());
        }
        if is_nan(&index.0) && matches!(self.0, Val::Arr(_)) {
            return Ok(JqVal(Val::Null));
        }
        let key = integral(&index.0, false);
        let value_type = type_name(&self.0);
        let message = || index_message(value_type, &index.0);
        let valid = matches!(
            (&self.0, &key),
            (Val::Null, _)
                | (Val::Obj(_), Val::TStr(_))
                | (Val::Arr(_) | Val::TStr(_) | Val::BStr(_), Val::Obj(_))
                | (Val::Arr(_), Val::Num(_) | Val::Arr(_))
        );
        if !valid {
            return fail(message());
        }
        reword(self.0.index(&key), message).map(JqVal)
    }

    fn range(self, range: val::Range<&Self>) -> Result<Self> {
        if matches!(self.0, Val::Null) {
            return Ok(self);
        }
        let range = integral_range(range);
        let message = format!("Cannot index {} with object", type_name(&self.0));
        reword(self.0.range(range.start.as_ref()..range.end.as_ref()), || message).map(JqVal)
    }

    fn map_values<'a, I: Iterator<Item = ValX<'a, Self>>>(self, opt: Opt, f: impl Fn(Self) -> I) -> ValX<'a, Self> {
        if !matches!(self.0, Val::Arr(_) | Val::Obj(_)) {
            return opt
                .fail(self, |v| Exn::from(Error::new(JqVal::from(format!("Cannot iterate over {}", describe(&v.0))))));
        }
        lower(self.0.map_values(opt, lift(f)))
    }

    fn map_index<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        index: &Self,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        let key = integral(&index.0, false);
        let container = match (&self.0, &key) {
            // Like jq, updating null makes the container that the key asks for.
            (Val::Null, Val::TStr(_)) => Val::obj(Default::default()),
            (Val::Null, Val::Num(_)) => Val::from_iter([]),
            (Val::Obj(_), Val::TStr(_)) | (Val::Arr(_) | Val::TStr(_) | Val::BStr(_), Val::Obj(_)) => self.0.clone(),
            (Val::Arr(_), Val::Num(_)) => self.0.clone(),
            _ => {
                let message = index_message(type_name(&self.0), &index.0);
                return opt.fail(self, |_| Exn::from(Error::new(JqVal::from(message))));
            }
        };
        if let (Val::Arr(items), Val::Num(n)) = (&container, &key) {
            let len = items.len() as f64;
            let at = num_f64(n);
            if at >= len || at < -len {
                // Past either end: what f makes of null is set (padding with nulls), nothing is deleted.
                let Some(new) = f(JqVal(Val::Null)).next().transpose()? else {
                    return Ok(JqVal(container));
                };
                if at < 0.0 {
                    return Err(Exn::from(Error::new(JqVal::from("Out of bounds negative array index".to_string()))));
                }
                if at >= MAX_ARRAY_INDEX as f64 || at >= MAX_COLLECTION_LEN as f64 {
                    return Err(Exn::from(Error::new(JqVal::from("Array index too large".to_string()))));
                }
                let mut padded: Vec<Val> = items.iter().cloned().collect();
                padded.resize(at as usize, Val::Null);
                padded.push(new.0);
                return Ok(JqVal(padded.into_iter().collect()));
            }
        }
        lower(container.map_index(&key, opt, lift(f)))
    }

    fn map_range<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        range: val::Range<&Self>,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        let container = match &self.0 {
            Val::Null => Val::from_iter([]),
            Val::Arr(_) => self.0.clone(),
            Val::TStr(_) | Val::BStr(_) => {
                return opt
                    .fail(self, |_| Exn::from(Error::new(JqVal::from("Cannot update string slices".to_string()))));
            }
            _ => {
                let message = format!("Cannot update field at object index of {}", type_name(&self.0));
                return opt.fail(self, |_| Exn::from(Error::new(JqVal::from(message))));
            }
        };
        let range = integral_range(range);
        lower(container.map_range(range.start.as_ref()..range.end.as_ref(), opt, lift(f)))
    }

    fn as_bool(&self) -> bool {
        self.0.as_bool()
    }

    fn into_string(self) -> Self {
        JqVal(self.0.into_string())
    }
}

impl jaq_std::ValT for JqVal {
    fn into_seq<S: FromIterator<Self>>(self) -> std::result::Result<S, Self> {
        match self.0 {
            Val::Arr(items) => Ok(items.iter().cloned().map(JqVal).collect()),
            other => Err(JqVal(other)),
        }
    }

    fn is_int(&self) -> bool {
        self.0.is_int()
    }

    fn as_isize(&self) -> Option<isize> {
        self.0.as_isize()
    }

    fn as_f64(&self) -> Option<f64> {
        self.0.as_f64()
    }

    fn is_utf8_str(&self) -> bool {
        self.0.is_utf8_str()
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        self.0.as_bytes()
    }

    fn as_sub_str(&self, sub: &[u8]) -> Self {
        JqVal(self.0.as_sub_str(sub))
    }

    fn from_utf8_bytes(b: impl AsRef<[u8]> + Send + 'static) -> Self {
        JqVal(Val::from_utf8_bytes(b))
    }
}
