//! jq's destructuring alternatives (`E as P1 ?// P2 | BODY`), which jaq does not parse, rewritten
//! into jq that jaq does parse before jaq sees the filter.
//!
//! jq binds `P1` and runs `BODY`; if either raises an error it binds `P2` and runs `BODY` again,
//! and so on; the last alternative's error propagates. Every variable of any pattern is bound
//! in every alternative, to null when the pattern in use lacks it. The rewrite is
//! `E as $v | . as $i | try (null as [$all...] | $v as P1 | BODY) catch ($i | ... P2 ...)`.

use std::borrow::Cow;

use jaq_core::load::lex::{Lexer, Tok, Token};

/// The variable holding the value being destructured.
const VALUE_VAR: &str = "$__destructured";
/// The variable holding the input of the binding, which `catch` would replace with the error.
const INPUT_VAR: &str = "$__destructuring_input";

/// `filter` with every destructuring alternative rewritten, or as it is when it has none (or
/// does not lex, which jaq then reports).
pub fn desugar(filter: &str) -> Cow<'_, str> {
    if !filter.contains("?//") {
        return Cow::Borrowed(filter);
    }
    match Lexer::new(filter).lex() {
        Ok(tokens) => Cow::Owned(render(filter, &tokens, 0, filter.len())),
        Err(_) => Cow::Borrowed(filter),
    }
}

/// Where `token` starts in `code`: tokens are slices of it.
fn start(code: &str, token: &Token<&str>) -> usize {
    token.0.as_ptr() as usize - code.as_ptr() as usize
}

fn end(code: &str, token: &Token<&str>) -> usize {
    start(code, token) + token.0.len()
}

/// The text of `code[from..to]`, which `tokens` (one nesting level) cover, with the alternatives rewritten.
fn render(code: &str, tokens: &[Token<&str>], from: usize, to: usize) -> String {
    let mut out = String::new();
    let mut copied = from;
    let mut index = 0;
    while index < tokens.len() {
        let token = &tokens[index];
        if let Some(patterns) = alternative_patterns(code, tokens, index) {
            // `as`, the patterns with a `?` and a `//` between each two, then `|`.
            let body_start = index + 3 * patterns.len();
            let body_end = body_end(tokens, body_start);
            let body = match tokens[body_start..body_end] {
                [] => String::new(),
                ref body => render(code, body, start(code, &body[0]), end(code, &body[body.len() - 1])),
            };
            out.push_str(&code[copied..end(code, token)]);
            out.push_str(&alternatives(&patterns, &body));
            copied = tokens[..body_end].last().map_or(copied, |last| end(code, last));
            index = body_end;
            continue;
        }
        if let Tok::Block(inner) = &token.1 {
            let inner_start = start(code, token) + 1;
            out.push_str(&code[copied..inner_start]);
            out.push_str(&render(code, inner, inner_start, end(code, token)));
            copied = end(code, token);
        }
        index += 1;
    }
    out.push_str(&code[copied..to]);
    out
}

/// The patterns when `tokens[index]` is an `as` followed by at least two patterns joined by
/// `?//`, then `|`.
fn alternative_patterns<'a>(code: &str, tokens: &[Token<&'a str>], index: usize) -> Option<Vec<&'a str>> {
    if !matches!(&tokens[index], Token("as", Tok::Word)) {
        return None;
    }
    let mut patterns = Vec::new();
    let mut at = index + 1;
    loop {
        let pattern = tokens.get(at).filter(|t| is_pattern(t))?;
        patterns.push(pattern.0);
        match (tokens.get(at + 1), tokens.get(at + 2)) {
            // jq lexes `?//` as one token, so `? //` is no alternative.
            (Some(q @ Token("?", Tok::Sym)), Some(alt @ Token("//", Tok::Sym))) if end(code, q) == start(code, alt) => {
                at += 3;
            }
            (Some(Token("|", Tok::Sym)), _) if patterns.len() > 1 => return Some(patterns),
            _ => return None,
        }
    }
}

fn is_pattern(token: &Token<&str>) -> bool {
    match token {
        Token(_, Tok::Var) => true,
        Token(text, Tok::Block(_)) => text.starts_with(['[', '{']),
        _ => false,
    }
}

/// The index after the last token of the body starting at `tokens[from]`: the body of a
/// binding reaches as far right as the enclosing construct lets it.
fn body_end(tokens: &[Token<&str>], from: usize) -> usize {
    enum Open {
        If,
        Def,
    }
    let mut open = Vec::new();
    for (index, token) in tokens.iter().enumerate().skip(from) {
        match token {
            Token("if", Tok::Word) => open.push(Open::If),
            Token("def", Tok::Word) => open.push(Open::Def),
            Token("end", Tok::Word) if matches!(open.last(), Some(Open::If)) => {
                open.pop();
            }
            Token(";", Tok::Sym) if matches!(open.last(), Some(Open::Def)) => {
                open.pop();
            }
            Token("then" | "elif" | "else" | "end", Tok::Word) | Token(";" | ")" | "]" | "}", Tok::Sym)
                if open.is_empty() =>
            {
                return index;
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The variables a pattern binds: those outside its parenthesised key expressions.
fn pattern_vars<'a>(pattern: &'a str, out: &mut Vec<&'a str>) {
    if let Ok(tokens) = Lexer::new(pattern).lex() {
        token_vars(&tokens, out);
    }
}

fn token_vars<'a>(tokens: &[Token<&'a str>], out: &mut Vec<&'a str>) {
    for token in tokens {
        match token {
            Token(var, Tok::Var) if !out.contains(var) => out.push(var),
            Token(text, Tok::Block(inner)) if !text.starts_with('(') => token_vars(inner, out),
            _ => {}
        }
    }
}

/// The text after `as`: the value and input bound, then each pattern tried in turn.
fn alternatives(patterns: &[&str], body: &str) -> String {
    let mut vars = Vec::new();
    for pattern in patterns {
        pattern_vars(pattern, &mut vars);
    }
    let nulls = format!("null as [{}]", vars.join(", "));
    let attempt = |pattern: &str| format!("({nulls} | {VALUE_VAR} as {pattern} | {body})");
    let (last, rest) = patterns.split_last().unwrap_or((&"", &[]));
    let tried = rest.iter().rev().fold(attempt(last), |otherwise, pattern| {
        format!("try {} catch ({INPUT_VAR} | {otherwise})", attempt(pattern))
    });
    format!(" {VALUE_VAR} | . as {INPUT_VAR} | {tried}")
}
