//! Native filters over `JqVal`: the ones jaq-json has only for its own value type, and the
//! jaq-std ones whose jq behaviour (errors, edge cases) differs.

use jaq_core::native::{Filter, Fun, bome, run, unary, v};
use jaq_core::{RunPtr, ValR, data};
use jaq_json::{Num, Val};

use crate::value::{JqVal, depth, describe, fail, num_f64, type_name};

type Data = data::JustLut<JqVal>;

/// The names of the jaq-std natives that [`funs`] replaces.
pub const REPLACED: &[&str] =
    &["utf8bytelength", "implode", "trim", "ltrim", "rtrim", "ltrimstr", "rtrimstr", "env", "mktime"];

/// The block's native filters.
pub fn funs() -> impl Iterator<Item = Fun<Data>> {
    let filters: [Filter<RunPtr<Data>>; 20] = [
        // jaq defines these as `0/0` and `1/0`, which jq (and so the block) refuses.
        ("nan", v(0), |_| bome(Ok(JqVal::from(f64::NAN)))),
        ("infinite", v(0), |_| bome(Ok(JqVal::from(f64::INFINITY)))),
        ("length", v(0), |cv| bome(length(&cv.1.0))),
        ("utf8bytelength", v(0), |cv| bome(utf8_byte_length(&cv.1.0))),
        ("contains", v(1), |cv| unary(cv, |x, y| contains(&x.0, &y.0, 0).map(JqVal::from))),
        ("has", v(1), |cv| unary(cv, |x, key| has(&x.0, &key.0))),
        ("indices", v(1), |cv| unary(cv, |x, y| indices(&x.0, &y.0))),
        ("_strindices", v(1), |cv| unary(cv, |x, y| indices(&x.0, &y.0))),
        ("bsearch", v(1), |cv| unary(cv, |x, y| bsearch(&x.0, y))),
        ("tojson", v(0), |cv| bome(Ok(JqVal::from(to_json_text(&cv.1.0))))),
        ("fromjson", v(0), |cv| bome(from_json(&cv.1.0))),
        ("tonumber", v(0), |cv| bome(to_number(cv.1))),
        ("implode", v(0), |cv| bome(implode(&cv.1.0))),
        ("trim", v(0), |cv| bome(trim(&cv.1.0, str::trim))),
        ("ltrim", v(0), |cv| bome(trim(&cv.1.0, str::trim_start))),
        ("rtrim", v(0), |cv| bome(trim(&cv.1.0, str::trim_end))),
        ("ltrimstr", v(1), |cv| unary(cv, |x, fix| strip(x, &fix.0, "startswith", |s, fix| s.strip_prefix(fix)))),
        ("rtrimstr", v(1), |cv| unary(cv, |x, fix| strip(x, &fix.0, "endswith", |s, fix| s.strip_suffix(fix)))),
        ("mktime", v(0), |cv| bome(mktime(&cv.1.0))),
        // The block exposes no process environment: jq's `env` and `$ENV` are empty objects.
        ("env", v(0), |_| bome(Ok(JqVal(Val::obj(Default::default()))))),
    ];
    filters.into_iter().map(run::<Data>)
}

fn text(value: &Val) -> Option<&str> {
    match value {
        Val::TStr(s) => std::str::from_utf8(s).ok(),
        _ => None,
    }
}

fn length(value: &Val) -> ValR<JqVal> {
    Ok(JqVal(match value {
        Val::Null => Val::from(0usize),
        Val::Bool(_) => return fail(format!("{} has no length", describe(value))),
        Val::Num(n) => Val::Num(if num_f64(n) < 0.0 { -n.clone() } else { n.clone() }),
        Val::TStr(s) => Val::from(String::from_utf8_lossy(s).chars().count()),
        Val::BStr(b) => Val::from(b.len()),
        Val::Arr(a) => Val::from(a.len()),
        Val::Obj(o) => Val::from(o.len()),
    }))
}

fn utf8_byte_length(value: &Val) -> ValR<JqVal> {
    match value {
        Val::TStr(s) => Ok(JqVal::from(s.len())),
        _ => fail(format!("{} only strings have UTF-8 byte length", describe(value))),
    }
}

/// jq's depth limit for comparing nested values.
const MAX_COMPARE_DEPTH: usize = 10_000;

fn contains(x: &Val, y: &Val, depth: usize) -> ValR<bool, JqVal> {
    if depth > MAX_COMPARE_DEPTH {
        return fail("Containment check too deep");
    }
    Ok(match (x, y) {
        (Val::Obj(l), Val::Obj(r)) => {
            for (key, r) in r.iter() {
                match l.get(key) {
                    Some(l) if contains(l, r, depth + 1)? => {}
                    _ => return Ok(false),
                }
            }
            true
        }
        (Val::Arr(l), Val::Arr(r)) => {
            for r in r.iter() {
                let mut found = false;
                for l in l.iter() {
                    if contains(l, r, depth + 1)? {
                        found = true;
                        break;
                    }
                }
                if !found {
                    return Ok(false);
                }
            }
            true
        }
        (Val::TStr(l), Val::TStr(r)) => l.windows(r.len().max(1)).any(|w| w == &r[..]) || r.is_empty(),
        _ if type_name(x) == type_name(y) => x == y,
        _ => return fail(format!("{} and {} cannot have their containment checked", describe(x), describe(y))),
    })
}

fn has(value: &Val, key: &Val) -> ValR<JqVal> {
    match (value, key) {
        (Val::Obj(o), Val::TStr(_)) => Ok(JqVal::from(o.contains_key(key))),
        (Val::Arr(a), Val::Num(n)) => Ok(JqVal::from(num_f64(n) >= 0.0 && num_f64(n) < a.len() as f64)),
        _ => fail(format!("Cannot check whether {} has a {} key", type_name(value), type_name(key))),
    }
}

fn indices(x: &Val, y: &Val) -> ValR<JqVal> {
    let positions: Vec<usize> = match (x, y) {
        (Val::Null, _) | (_, Val::Null) => return Ok(JqVal(Val::Null)),
        (Val::TStr(haystack), Val::TStr(needle)) => {
            if needle.is_empty() {
                return Ok(JqVal(Val::Null));
            }
            // jq counts string positions in codepoints.
            let text = String::from_utf8_lossy(haystack);
            let needle = String::from_utf8_lossy(needle);
            let starts: Vec<usize> = text.char_indices().map(|(at, _)| at).collect();
            starts.iter().enumerate().filter(|(_, at)| text[**at..].starts_with(&*needle)).map(|(i, _)| i).collect()
        }
        (Val::Arr(items), Val::Arr(part)) => {
            if part.is_empty() {
                return Ok(JqVal(Val::Null));
            }
            items.windows(part.len()).enumerate().filter(|(_, w)| *w == &part[..]).map(|(i, _)| i).collect()
        }
        (Val::Arr(items), item) => items.iter().enumerate().filter(|(_, x)| *x == item).map(|(i, _)| i).collect(),
        _ => return fail(format!("Cannot determine the indices of {} in {}", describe(y), describe(x))),
    };
    Ok(positions.into_iter().map(JqVal::from).collect())
}

fn bsearch(array: &Val, target: JqVal) -> ValR<JqVal> {
    let Val::Arr(items) = array else {
        return fail(format!("{} cannot be searched from", describe(array)));
    };
    Ok(JqVal::from(match items.binary_search(&target.0) {
        Ok(at) => at as isize,
        Err(at) => -1 - at as isize,
    }))
}

/// jq prints arrays and objects nested up to this many levels below the top; deeper ones it skips.
const MAX_PRINT_DEPTH: usize = 10_000;
/// jq parses arrays and objects nested at most this deep.
const MAX_PARSING_DEPTH: usize = 10_000;

fn to_json_text(value: &Val) -> String {
    if depth(value, MAX_PRINT_DEPTH + 2) <= MAX_PRINT_DEPTH + 1 {
        return value.to_string();
    }
    let mut out = String::new();
    write_json_skipping_deep(value, 0, &mut out);
    out
}

/// Writes `value` as jq's `tojson` does when it nests too deep: what lies past the print depth
/// becomes `<skipped: too deep>`.
fn write_json_skipping_deep(value: &Val, level: usize, out: &mut String) {
    let is_container = matches!(value, Val::Arr(_) | Val::Obj(_));
    if is_container && level > MAX_PRINT_DEPTH {
        out.push_str("<skipped: too deep>");
        return;
    }
    match value {
        Val::Arr(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json_skipping_deep(item, level + 1, out);
            }
            out.push(']');
        }
        Val::Obj(entries) => {
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&key.to_string());
                out.push(':');
                write_json_skipping_deep(item, level + 1, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn from_json(value: &Val) -> ValR<JqVal> {
    let Val::TStr(s) = value else {
        return fail(format!("{} cannot be parsed as JSON", describe(value)));
    };
    let while_parsing = || format!("(while parsing '{}')", String::from_utf8_lossy(s));
    let parsed = jaq_json::read::parse_single(s).or_else(|e| fail(format!("{e} {}", while_parsing())))?;
    if depth(&parsed, MAX_PARSING_DEPTH + 1) > MAX_PARSING_DEPTH {
        return fail(format!("Exceeds depth limit for parsing {}", while_parsing()));
    }
    Ok(JqVal(parsed))
}

fn to_number(value: JqVal) -> ValR<JqVal> {
    match &value.0 {
        Val::Num(_) => Ok(value),
        Val::TStr(s) => match jaq_json::read::parse_single_num(s) {
            Some(n) if !matches!(n, Num::Float(f) if f.is_nan()) => Ok(JqVal(Val::Num(n))),
            _ => fail(format!("{} cannot be parsed as a number", describe(&value.0))),
        },
        other => fail(format!("{} cannot be parsed as a number", describe(other))),
    }
}

fn implode(value: &Val) -> ValR<JqVal> {
    let Val::Arr(points) = value else {
        return fail("implode input must be an array");
    };
    let mut out = String::new();
    for point in points.iter() {
        let Val::Num(n) = point else {
            return fail("Unicode codepoint must be numeric");
        };
        // jq turns what is no Unicode scalar value into the replacement character.
        let c = u32::try_from(num_f64(n) as i64).ok().and_then(char::from_u32).unwrap_or(char::REPLACEMENT_CHARACTER);
        out.push(c);
    }
    Ok(JqVal::from(out))
}

fn trim(value: &Val, how: fn(&str) -> &str) -> ValR<JqVal> {
    match text(value) {
        Some(s) => Ok(JqVal::from(how(s).to_string())),
        None => fail("trim input must be a string"),
    }
}

fn strip(value: JqVal, fix: &Val, test: &str, how: for<'s> fn(&'s str, &'s str) -> Option<&'s str>) -> ValR<JqVal> {
    let (Some(s), Some(fix)) = (text(&value.0), text(fix)) else {
        return fail(format!("{test}() requires string inputs"));
    };
    Ok(match how(s, fix) {
        Some(rest) => JqVal::from(rest.to_string()),
        None => value,
    })
}

/// jq's `mktime`, which is C's `timegm`: missing fields are zero, fractions are truncated and fields
/// out of range carry over (day 0 is the last day of the month before), where jaq refuses them.
fn mktime(value: &Val) -> ValR<JqVal> {
    let Val::Arr(fields) = value else {
        return fail("mktime requires array inputs");
    };
    // A missing field is a zero of C's `struct tm`, whose years count from 1900.
    let mut tm = [1900, 0, 0, 0, 0, 0];
    for (field, value) in tm.iter_mut().zip(fields.iter()) {
        let Val::Num(n) = value else {
            return fail("mktime requires parsed datetime inputs");
        };
        // `as` truncates towards zero, as C's conversion to int does, and saturates.
        *field = i128::from(num_f64(n) as i64);
    }
    if fields.iter().skip(tm.len()).any(|value| !matches!(value, Val::Num(_))) {
        return fail("mktime requires parsed datetime inputs");
    }
    let [year, month, day, hour, minute, second] = tm;
    let days = days_from_civil(year + month.div_euclid(12), month.rem_euclid(12) + 1, day);
    let seconds = ((days * 24 + hour) * 60 + minute) * 60 + second;
    Ok(isize::try_from(seconds).map_or_else(|_| JqVal::from(seconds as f64), JqVal::from))
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (`month` 1 to 12, any `day`),
/// counting years from March so that the leap day ends a year.
fn days_from_civil(year: i128, month: i128, day: i128) -> i128 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
