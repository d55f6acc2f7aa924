//! Jinja2's `'...' % value` string formatting. minijinja's `%` is only the numeric remainder
//! and has no hook, so before compiling, each `%` whose left operand is a string literal is
//! rewritten into a call of a filter doing Python's formatting ([`crate::percent_format`]):
//! `'%d items' % n` becomes `('%d items' | __python_percent(n))`, and `'%s/%s' % (a, b)`
//! becomes `('%s/%s' | __python_percent_tuple((a, b)))` (minijinja has no tuple type, so a
//! tuple literal is told apart from a list here, where it is written).
//!
//! The template is tokenized by minijinja's own lexer, so strings, comments, `{% raw %}` and
//! whitespace control are read exactly as the compiler reads them. The right operand's
//! extent follows Jinja2's grammar (a power expression: unary `-`/`+`, attributes, items,
//! calls, filters and tests bind tighter than `%`). The rewrite adds no line breaks, so error
//! lines stay those of the template as written. A numeric `a % b` is never touched.

use std::borrow::Cow;

use minijinja::Environment;
use minijinja::machinery::{Span, Token, WhitespaceConfig, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;

use crate::percent_format::{Arguments, percent_format};

/// The filter `'fmt' % value` becomes.
const ONE_ARGUMENT: &str = "__python_percent";
/// The filter `'fmt' % (a, b)` becomes.
const TUPLE_ARGUMENTS: &str = "__python_percent_tuple";

/// Registers the filters the rewritten templates call.
pub fn add_to_environment(env: &mut Environment) {
    env.add_filter(ONE_ARGUMENT, |format: String, value: Value| percent_format(&format, Arguments::One(&value)));
    env.add_filter(TUPLE_ARGUMENTS, |format: String, tuple: Value| {
        let items: Vec<Value> = tuple.try_iter()?.collect();
        percent_format(&format, Arguments::Tuple(&items))
    });
}

/// `source` with each `STRING % operand` turned into a filter call; unchanged when it has
/// none, or does not tokenize (the compiler then reports the error on the original).
#[allow(clippy::default_constructed_unit_structs, reason = "SyntaxConfig has fields under custom_syntax")]
pub fn rewrite(source: &str) -> Cow<'_, str> {
    let tokens: Vec<(Token, Span)> =
        match tokenize(source, false, SyntaxConfig::default(), WhitespaceConfig::default()).collect() {
            Ok(tokens) => tokens,
            Err(_) => return Cow::Borrowed(source),
        };
    let mut edits = Vec::new();
    for (index, (token, span)) in tokens.iter().enumerate() {
        if !matches!(token, Token::Mod) {
            continue;
        }
        let Some(literal_start) = format_literal_start(&tokens, index) else { continue };
        let Some(end) = power_end(&tokens, index + 1) else { continue };
        let filter = if is_tuple(&tokens, index + 1, end) { TUPLE_ARGUMENTS } else { ONE_ARGUMENT };
        edits.push(Edit { at: offset(&tokens[literal_start].1, false), to: None, text: "(".into() });
        edits.push(Edit { at: offset(span, false), to: Some(offset(span, true)), text: format!("| {filter}(") });
        edits.push(Edit { at: offset(&tokens[end - 1].1, true), to: None, text: "))".into() });
    }
    if edits.is_empty() {
        return Cow::Borrowed(source);
    }
    // Stable: at one offset a closing `))` (pushed by an earlier `%`) stays before an opening.
    edits.sort_by_key(|edit| edit.at);
    let mut out = String::with_capacity(source.len() + edits.len() * 12);
    let mut copied = 0;
    for edit in edits {
        out.push_str(&source[copied..edit.at]);
        out.push_str(&edit.text);
        copied = edit.to.unwrap_or(edit.at);
    }
    out.push_str(&source[copied..]);
    Cow::Owned(out)
}

/// Inserts `text` at byte offset `at`, or replaces `at..to` with it.
struct Edit {
    at: usize,
    to: Option<usize>,
    text: String,
}

fn offset(span: &Span, end: bool) -> usize {
    (if end { span.end_offset } else { span.start_offset }) as usize
}

fn token<'t, 's>(tokens: &'t [(Token<'s>, Span)], index: usize) -> Option<&'t Token<'s>> {
    tokens.get(index).map(|(token, _)| token)
}

fn is_string(token: Option<&Token>) -> bool {
    matches!(token, Some(Token::Str(_) | Token::String(_)))
}

/// Ends an operand, so a `-`/`+` after it is binary.
fn ends_operand(token: Option<&Token>) -> bool {
    match token {
        Some(Token::Ident(name)) => !starts_expression(name),
        Some(
            Token::Str(_)
            | Token::String(_)
            | Token::Int(_)
            | Token::Int128(_)
            | Token::Float(_)
            | Token::ParenClose
            | Token::BracketClose
            | Token::BraceClose,
        ) => true,
        _ => false,
    }
}

/// A word after which an expression starts (a tag keyword or a word operator).
fn starts_expression(word: &str) -> bool {
    matches!(
        word,
        "and" | "or" | "not" | "in" | "if" | "elif" | "else" | "do" | "include" | "extends" | "import" | "from"
    )
}

/// The first token of the string literal(s) left of the `%` at `index`, when that literal
/// is the whole left operand: not the right side of `*`, `**`, a unary sign, a test, ...
fn format_literal_start(tokens: &[(Token, Span)], index: usize) -> Option<usize> {
    let mut start = index.checked_sub(1)?;
    if !is_string(token(tokens, start)) {
        return None;
    }
    // Adjacent literals are one string: `'a' 'b'`.
    while start > 0 && is_string(token(tokens, start - 1)) {
        start -= 1;
    }
    let before = token(tokens, start.checked_sub(1)?);
    let starts_operand = match before {
        Some(
            Token::VariableStart
            | Token::BlockStart
            | Token::ParenOpen
            | Token::BracketOpen
            | Token::BraceOpen
            | Token::Comma
            | Token::Colon
            | Token::Assign
            | Token::Tilde
            | Token::Eq
            | Token::Ne
            | Token::Gt
            | Token::Gte
            | Token::Lt
            | Token::Lte,
        ) => true,
        Some(Token::Ident(name)) => starts_expression(name),
        Some(Token::Plus | Token::Minus) => ends_operand(token(tokens, start.checked_sub(2)?)),
        _ => false,
    };
    starts_operand.then_some(start)
}

/// The index of the bracket closing the one at `open`, within the tag.
fn closing(tokens: &[(Token, Span)], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (index, (token, _)) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => depth += 1,
            Token::ParenClose | Token::BracketClose | Token::BraceClose => {
                depth -= 1;
                if depth == 0 {
                    return Some(index);
                }
            }
            Token::VariableEnd | Token::BlockEnd => return None,
            _ => {}
        }
    }
    None
}

/// Jinja2's `parse_pow`: unary operands joined by `**`. Returns the index after it.
fn power_end(tokens: &[(Token, Span)], start: usize) -> Option<usize> {
    let mut end = unary_end(tokens, start)?;
    while matches!(token(tokens, end), Some(Token::Pow)) {
        end = unary_end(tokens, end + 1)?;
    }
    Some(end)
}

/// Jinja2's `parse_unary`: signs, a primary, postfix, then filters and tests.
fn unary_end(tokens: &[(Token, Span)], mut start: usize) -> Option<usize> {
    while matches!(token(tokens, start), Some(Token::Minus | Token::Plus)) {
        start += 1;
    }
    let end = postfix_end(tokens, primary_end(tokens, start)?)?;
    filters_end(tokens, end)
}

fn primary_end(tokens: &[(Token, Span)], start: usize) -> Option<usize> {
    match token(tokens, start)? {
        Token::Ident(_) | Token::Int(_) | Token::Int128(_) | Token::Float(_) => Some(start + 1),
        Token::Str(_) | Token::String(_) => {
            let mut end = start + 1;
            while is_string(token(tokens, end)) {
                end += 1;
            }
            Some(end)
        }
        Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => Some(closing(tokens, start)? + 1),
        _ => None,
    }
}

/// `.name`, `.0`, `[...]`, `(...)`.
fn postfix_end(tokens: &[(Token, Span)], mut end: usize) -> Option<usize> {
    loop {
        match token(tokens, end) {
            Some(Token::Dot) => match token(tokens, end + 1)? {
                Token::Ident(_) | Token::Int(_) => end += 2,
                _ => return None,
            },
            Some(Token::BracketOpen | Token::ParenOpen) => end = closing(tokens, end)? + 1,
            _ => return Some(end),
        }
    }
}

/// A dotted filter or test name.
fn name_end(tokens: &[(Token, Span)], start: usize) -> Option<usize> {
    let Token::Ident(_) = token(tokens, start)? else { return None };
    let mut end = start + 1;
    while matches!(token(tokens, end), Some(Token::Dot)) && matches!(token(tokens, end + 1), Some(Token::Ident(_))) {
        end += 2;
    }
    Some(end)
}

/// Jinja2's `parse_filter_expr`: `| filter(...)`, `is [not] test(...)` or `is test arg`, calls.
fn filters_end(tokens: &[(Token, Span)], mut end: usize) -> Option<usize> {
    loop {
        match token(tokens, end) {
            Some(Token::Pipe) => {
                end = name_end(tokens, end + 1)?;
                if matches!(token(tokens, end), Some(Token::ParenOpen)) {
                    end = closing(tokens, end)? + 1;
                }
            }
            Some(Token::Ident("is")) => {
                end += 1;
                if matches!(token(tokens, end), Some(Token::Ident("not"))) {
                    end += 1;
                }
                end = name_end(tokens, end)?;
                match token(tokens, end) {
                    Some(Token::ParenOpen) => end = closing(tokens, end)? + 1,
                    Some(Token::Ident("else" | "or" | "and")) => {}
                    Some(
                        Token::Ident(_)
                        | Token::Str(_)
                        | Token::String(_)
                        | Token::Int(_)
                        | Token::Int128(_)
                        | Token::Float(_)
                        | Token::BracketOpen
                        | Token::BraceOpen,
                    ) => end = postfix_end(tokens, primary_end(tokens, end)?)?,
                    _ => {}
                }
            }
            Some(Token::ParenOpen) => end = closing(tokens, end)? + 1,
            _ => return Some(end),
        }
    }
}

/// `(...)` spanning the whole operand with a comma at its top level, or `()`: a tuple.
fn is_tuple(tokens: &[(Token, Span)], start: usize, end: usize) -> bool {
    if !matches!(token(tokens, start), Some(Token::ParenOpen)) || closing(tokens, start) != Some(end - 1) {
        return false;
    }
    if end - start == 2 {
        return true;
    }
    let mut depth = 0usize;
    tokens[start + 1..end - 1].iter().any(|(token, _)| match token {
        Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => {
            depth += 1;
            false
        }
        Token::ParenClose | Token::BracketClose | Token::BraceClose => {
            depth -= 1;
            false
        }
        Token::Comma => depth == 0,
        _ => false,
    })
}
