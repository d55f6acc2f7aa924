//! Jinja2's filters and argument forms where minijinja's builtins and minijinja-contrib
//! differ: positional arguments, `round` methods, `sum(attribute=)`, `replace` counts,
//! `int`/`float` defaults, `center`, `urlencode`, `join`, `string`, `escape`, `tojson`.

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, FormatStyle, State};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::python_repr::{jinja2_json, markupsafe_escape, python_str};

/// Adds minijinja-contrib's filters and Python methods, then Jinja2's forms over them.
pub fn add_to_environment(env: &mut Environment) {
    minijinja_contrib::add_to_environment(env);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_filter("truncate", truncate);
    env.add_filter("wordwrap", wordwrap);
    env.add_filter("round", round);
    env.add_filter("sum", sum);
    env.add_filter("replace", replace);
    env.add_filter("int", int);
    env.add_filter("float", float);
    env.add_filter("center", center);
    env.add_filter("indent", indent);
    env.add_filter("urlencode", urlencode);
    env.add_filter("join", join);
    env.add_filter("string", string);
    env.add_filter("format", format);
    env.add_filter("escape", escape);
    env.add_filter("e", escape);
    env.add_filter("tojson", tojson);
}

/// Jinja2 takes each of these arguments by position or by name; contrib only by name.
fn named(names: &[&str], args: &[Value]) -> Result<Kwargs, Error> {
    let (kwargs, positional) = match args.split_last() {
        Some((last, rest)) if last.is_kwargs() => (Kwargs::try_from(last.clone())?, rest),
        _ => (Kwargs::from_iter(Vec::<(&str, Value)>::new()), args),
    };
    if positional.len() > names.len() {
        return Err(Error::from(ErrorKind::TooManyArguments));
    }
    let mut merged = Vec::new();
    for (index, name) in names.iter().enumerate() {
        match (kwargs.get::<Option<Value>>(name)?, positional.get(index)) {
            (Some(given), _) => merged.push((*name, given)),
            (None, Some(given)) => merged.push((*name, given.clone())),
            (None, None) => {}
        }
    }
    kwargs.assert_all_used()?;
    Ok(Kwargs::from_iter(merged))
}

fn truncate(state: &State, value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    minijinja_contrib::filters::truncate(state, value, named(&["length", "killwords", "end", "leeway"], &args)?)
}

/// `wordwrap(width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True)`
/// fills each line greedily, as Python's `textwrap` does (contrib's optimal fit differs).
fn wordwrap(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    use textwrap::{Options, WordSplitter, WrapAlgorithm};
    let kwargs = named(&["width", "break_long_words", "wrapstring", "break_on_hyphens"], &args)?;
    let width = kwargs.get::<Option<usize>>("width")?.unwrap_or(79);
    let break_long_words = kwargs.get::<Option<bool>>("break_long_words")?.unwrap_or(true);
    let wrapstring = kwargs.get::<Option<String>>("wrapstring")?.unwrap_or_else(|| "\n".into());
    let splitter = match kwargs.get::<Option<bool>>("break_on_hyphens")?.unwrap_or(true) {
        true => WordSplitter::HyphenSplitter,
        false => WordSplitter::NoHyphenation,
    };
    let options = Options::new(width)
        .wrap_algorithm(WrapAlgorithm::FirstFit)
        .break_words(break_long_words)
        .word_splitter(splitter);
    let text = python_str(value);
    let paragraphs: Vec<String> =
        text.lines().map(|line| textwrap::wrap(line, &options).join(wrapstring.as_str())).collect();
    Ok(Value::from(paragraphs.join(wrapstring.as_str())))
}

/// `round(precision=0, method='common')`: common rounds half to even as Python's `round`
/// does; an integer stays an integer under it, as in Jinja2.
fn round(value: Value, precision: Option<i32>, method: Option<String>, kwargs: Kwargs) -> Result<Value, Error> {
    let precision = kwargs.get::<Option<i32>>("precision")?.or(precision).unwrap_or(0);
    let method = kwargs.get::<Option<String>>("method")?.or(method).unwrap_or_else(|| "common".into());
    kwargs.assert_all_used()?;
    if value.kind() != ValueKind::Number {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("cannot round {}", value.kind())));
    }
    let number = f64::try_from(value.clone())?;
    let scale = 10f64.powi(precision);
    let rounded = match method.as_str() {
        "common" if value.is_integer() => return Ok(value),
        // Formatting rounds the exact binary value to `precision` digits, as Python does.
        "common" => format!("{number:.0$}", precision.max(0) as usize).parse().unwrap_or(number),
        "floor" => (number * scale).floor() / scale,
        "ceil" => (number * scale).ceil() / scale,
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("method must be common, ceil or floor, not {other}"),
            ));
        }
    };
    Ok(Value::from(rounded))
}

/// Jinja2's attribute path `a.b.0`: dotted names, integer parts index sequences.
fn lookup(item: &Value, path: &str) -> Value {
    path.split('.').fold(item.clone(), |value, part| match part.parse::<i64>() {
        Ok(index) => value.get_item(&Value::from(index)).unwrap_or_default(),
        Err(_) => value.get_attr(part).unwrap_or_default(),
    })
}

fn sum(
    state: &State,
    values: Value,
    attribute: Option<String>,
    start: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let attribute = kwargs.get::<Option<String>>("attribute")?.or(attribute);
    let start = kwargs.get::<Option<Value>>("start")?.or(start);
    kwargs.assert_all_used()?;
    let mut terms: Vec<Value> = start.into_iter().collect();
    for item in values.try_iter()? {
        terms.push(match &attribute {
            Some(path) => lookup(&item, path),
            None => item,
        });
    }
    minijinja::filters::sum(state, Value::from(terms))
}

fn replace(value: String, old: String, new: String, count: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let count = kwargs.get::<Option<usize>>("count")?.or(count);
    kwargs.assert_all_used()?;
    Ok(match count {
        Some(count) => value.replacen(&old, &new, count),
        None => value.replace(&old, &new),
    })
}

/// `int(default=0, base=10)`: text that is no integer is read as a float, else `default`.
fn int(value: &Value, default: Option<Value>, base: Option<u32>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = kwargs.get::<Option<Value>>("default")?.or(default).unwrap_or(Value::from(0));
    let base = kwargs.get::<Option<u32>>("base")?.or(base).unwrap_or(10);
    kwargs.assert_all_used()?;
    let parsed = match value.kind() {
        ValueKind::Bool => Some(i64::from(value.is_true())),
        ValueKind::Number => f64::try_from(value.clone()).ok().map(|n| n.trunc() as i64),
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default().trim().replace('_', "");
            i64::from_str_radix(&text, base)
                .ok()
                .or_else(|| text.parse::<f64>().ok().filter(|n| n.is_finite()).map(|n| n.trunc() as i64))
        }
        _ => None,
    };
    Ok(parsed.map(Value::from).unwrap_or(default))
}

/// `float(default=0.0)`.
fn float(value: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = kwargs.get::<Option<Value>>("default")?.or(default).unwrap_or(Value::from(0.0));
    kwargs.assert_all_used()?;
    let parsed = match value.kind() {
        ValueKind::Bool => Some(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).ok(),
        ValueKind::String => value.as_str().unwrap_or_default().trim().replace('_', "").parse().ok(),
        _ => None,
    };
    Ok(parsed.map(Value::from).unwrap_or(default))
}

/// Python's `str.center`: an odd margin puts the extra space left only when `width` is odd.
fn center(value: &Value, width: Option<usize>) -> Result<String, Error> {
    let text = python_str(value);
    let width = within_output_limit(width.unwrap_or(80))?;
    let length = text.chars().count();
    if width <= length {
        return Ok(text);
    }
    let margin = width - length;
    let left = margin / 2 + (margin & width & 1);
    Ok(format!("{}{text}{}", " ".repeat(left), " ".repeat(margin - left)))
}

/// A width no output could hold is refused before it is allocated.
fn within_output_limit(width: usize) -> Result<usize, Error> {
    if width > crate::MAX_OUTPUT_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("width {width} exceeds {} bytes", crate::MAX_OUTPUT_BYTES),
        ));
    }
    Ok(width)
}

/// `indent(width=4, first=False, blank=False)`; `width` may be the indentation text itself.
fn indent(
    text: String,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = kwargs.get::<Option<Value>>("width")?.or(width).unwrap_or(Value::from(4));
    let first = kwargs.get::<Option<bool>>("first")?.or(first).unwrap_or(false);
    let blank = kwargs.get::<Option<bool>>("blank")?.or(blank).unwrap_or(false);
    kwargs.assert_all_used()?;
    let indentation = match width.as_str() {
        Some(text) => text.to_owned(),
        None => " ".repeat(within_output_limit(usize::try_from(width)?)?),
    };
    let mut lines = text.lines();
    let mut indented = lines.next().unwrap_or_default().to_owned();
    for line in lines {
        indented.push('\n');
        if blank || !line.is_empty() {
            indented.push_str(&indentation);
        }
        indented.push_str(line);
    }
    if first {
        indented.insert_str(0, &indentation);
    }
    Ok(indented)
}

/// Python's `urllib.parse.quote`: letters, digits and `_.-~` stay as they are.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~');
const PATH_SAFE: &AsciiSet = &UNRESERVED.remove(b'/');

fn quote_for_query(value: &Value) -> String {
    utf8_percent_encode(&python_str(value), UNRESERVED).to_string().replace("%20", "+")
}

/// A string is quoted keeping `/`; a dict or a sequence of pairs becomes a query string.
fn urlencode(value: &Value) -> Result<String, Error> {
    let pairs: Vec<(Value, Value)> = match value.kind() {
        ValueKind::String => return Ok(utf8_percent_encode(value.as_str().unwrap_or_default(), PATH_SAFE).to_string()),
        ValueKind::Map => value
            .try_iter()?
            .map(|key| {
                let item = value.get_item(&key).unwrap_or_default();
                (key, item)
            })
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => value
            .try_iter()?
            .map(|pair| {
                (pair.get_item(&Value::from(0)).unwrap_or_default(), pair.get_item(&Value::from(1)).unwrap_or_default())
            })
            .collect(),
        _ => return Ok(utf8_percent_encode(&python_str(value), PATH_SAFE).to_string()),
    };
    let query: Vec<String> =
        pairs.iter().map(|(k, v)| format!("{}={}", quote_for_query(k), quote_for_query(v))).collect();
    Ok(query.join("&"))
}

fn join(value: &Value, separator: Option<String>, attribute: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let separator = kwargs.get::<Option<String>>("d")?.or(separator).unwrap_or_default();
    let attribute = kwargs.get::<Option<String>>("attribute")?.or(attribute);
    kwargs.assert_all_used()?;
    let mut parts = Vec::new();
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(path) => lookup(&item, path),
            None => item,
        };
        parts.push(python_str(&item));
    }
    Ok(parts.join(&separator))
}

fn string(value: &Value) -> Value {
    if value.kind() == ValueKind::String {
        return value.clone();
    }
    Value::from(python_str(value))
}

/// printf-style formatting; booleans, `None`, lists and dicts are given as Python prints them.
fn format(format_string: String, args: Rest<Value>) -> Result<String, Error> {
    let args: Vec<Value> = args
        .iter()
        .map(|arg| match arg.kind() {
            ValueKind::Bool | ValueKind::None | ValueKind::Seq | ValueKind::Map => Value::from(python_str(arg)),
            _ => arg.clone(),
        })
        .collect();
    minijinja::format_filter(FormatStyle::Printf, &format_string, &args)
}

fn escape(value: &Value) -> Value {
    if value.is_safe() {
        return value.clone();
    }
    Value::from_safe_string(markupsafe_escape(&python_str(value)))
}

/// `json.dumps(sort_keys=True, indent=indent)` as Jinja2 writes it.
fn tojson(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.or(indent);
    kwargs.assert_all_used()?;
    Ok(Value::from_safe_string(jinja2_json(value, indent.map(within_output_limit).transpose()?)))
}
