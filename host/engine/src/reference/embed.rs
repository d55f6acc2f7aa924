//! References inside code: JavaScript source, jq filters and Jinja template text (SPEC 2,
//! "Data never becomes code").
//!
//! A reference in code is never pasted in as source. Each one is rewritten to an element of
//! the identifier [`REFERENCES_IDENT`] (`<start.name> === 'bob'` becomes `__refs[0] === 'bob'`)
//! and its value travels beside the code, as JSON, in the param [`REFERENCES_PARAM`]; the block
//! binds that array natively (boa's `JsValue::from_json`, a minijinja variable). So an input
//! `{"__proto__": {"isAdmin": true}}` stays an own key, `"); evil("` stays a string and
//! `{{ 7*7 }}` renders as written.

use serde_json::Value;

use super::{ReferenceError, ReferenceScope, lookup, references_in};

/// The identifier a reference in code becomes an element of: `__refs[0]`, `__refs[1]`, …
pub const REFERENCES_IDENT: &str = "__refs";

/// The param beside rewritten code that holds the values `__refs[i]` stand for.
pub const REFERENCES_PARAM: &str = "references";

/// Code whose references were rewritten, and what they stand for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    /// The code with each resolved reference written as `__refs[i]`.
    pub source: String,
    /// Element `i` is the value of `__refs[i]`.
    pub references: Vec<Value>,
}

/// The language of a piece of code, which decides how a reference is written into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JavaScript: `__refs[i]`, the value itself.
    JavaScript,
    /// Jinja template text: `{{ __refs[i] }}` in text, whose value is the reference's text
    /// (strings raw, everything else compact JSON, as in any other string param), and
    /// `__refs[i]`, the value itself, inside a `{{ … }}`, `{% … %}` or `{# … #}` tag.
    Template,
    /// A jq filter: `$__refs[i]`, the value itself, in filter code, and `\($__refs[i])` inside a
    /// string literal, whose interpolation gives the reference's text (strings raw, everything
    /// else compact JSON) as in any other string param.
    Jq,
}

/// Rewrites the references in `text` (a whole script), numbering from 0.
pub fn resolve_script(text: &str, scope: &dyn ReferenceScope, syntax: Syntax) -> Result<Script, ReferenceError> {
    let mut references = Vec::new();
    let source = rewrite(text, scope, syntax, &mut references)?;
    Ok(Script { source, references })
}

/// Rewrites the references in `text`, appending their values to `references` (several
/// scripts of one params object share one array). A reference that stays text (a bare
/// `<word>` naming no block, a `{{NAME}}` naming no provided variable) is left as written.
pub(super) fn rewrite(
    text: &str,
    scope: &dyn ReferenceScope,
    syntax: Syntax,
    references: &mut Vec<Value>,
) -> Result<String, ReferenceError> {
    let found = references_in(text, scope);
    let found = &found[..];
    let mut out = String::with_capacity(text.len());
    let mut lexer = Lexer::new(syntax);
    let mut copied = 0;
    for hit in found {
        let before = &text[copied..hit.span.start];
        out.push_str(before);
        lexer.read(before);
        copied = hit.span.end;
        let Some(value) = lookup(&hit.reference, scope)? else {
            let literal = &text[hit.span.clone()];
            out.push_str(literal);
            lexer.read(literal);
            continue;
        };
        let index = references.len();
        match &lexer {
            Lexer::Template(TagState::Text) => {
                out.push_str(&format!("{{{{ {REFERENCES_IDENT}[{index}] }}}}"));
                references.push(match value.into_owned() {
                    Value::String(s) => Value::String(s),
                    other => Value::String(other.to_string()),
                });
            }
            Lexer::Jq(jq) => {
                let variable = format!("${REFERENCES_IDENT}[{index}]");
                out.push_str(&if jq.in_string() { format!("\\({variable})") } else { variable });
                references.push(value.into_owned());
            }
            _ => {
                out.push_str(&format!("{REFERENCES_IDENT}[{index}]"));
                references.push(value.into_owned());
            }
        }
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

/// As much of a lexer of the code's language as decides how a reference is written there.
enum Lexer {
    /// A reference is `__refs[i]` anywhere in JavaScript.
    JavaScript,
    Template(TagState),
    Jq(JqState),
}

impl Lexer {
    fn new(syntax: Syntax) -> Self {
        match syntax {
            Syntax::JavaScript => Self::JavaScript,
            Syntax::Template => Self::Template(TagState::Text),
            Syntax::Jq => Self::Jq(JqState::default()),
        }
    }

    /// Moves over `text`.
    fn read(&mut self, text: &str) {
        match self {
            Self::JavaScript => {}
            Self::Template(tag) => *tag = tag.after(text),
            Self::Jq(jq) => jq.read(text),
        }
    }
}

/// Where a Jinja lexer would be: in template text, or inside a tag until its closer.
///
/// String literals inside tags are not tracked (a `}}` inside a quoted string in a tag ends
/// the tag early here); `{% raw %}` blocks are treated as ordinary text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagState {
    Text,
    /// Inside a tag that ends with this closer (`}}`, `%}` or `#}`).
    Tag(&'static str),
}

impl TagState {
    /// The state after reading `text` from this one.
    fn after(self, text: &str) -> Self {
        let mut state = self;
        let mut rest = text;
        loop {
            match state {
                TagState::Text => {
                    let opener = ["{{", "{%", "{#"].iter().filter_map(|o| rest.find(o).map(|at| (at, *o))).min();
                    let Some((at, opener)) = opener else { return state };
                    state = TagState::Tag(match opener {
                        "{{" => "}}",
                        "{%" => "%}",
                        _ => "#}",
                    });
                    rest = &rest[at + 2..];
                }
                TagState::Tag(closer) => {
                    let Some(at) = rest.find(closer) else { return state };
                    state = TagState::Text;
                    rest = &rest[at + 2..];
                }
            }
        }
    }
}

/// Where a jq lexer would be: in filter code or inside a string literal, through any depth of
/// `\(…)` interpolations (code again, which may hold strings of its own). Comments are not
/// tracked: a `"` inside a `# comment` is read as a quote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct JqState {
    /// For each string literal open around this point, how many parentheses are open in the
    /// interpolation code inside it (the last is the innermost); empty in top-level code.
    strings: Vec<Option<usize>>,
    /// The last character read was a backslash inside a string.
    escaped: bool,
}

impl JqState {
    /// Inside a string literal (not inside an interpolation in it).
    fn in_string(&self) -> bool {
        matches!(self.strings.last(), Some(None))
    }

    /// Moves over `text`.
    fn read(&mut self, text: &str) {
        for c in text.chars() {
            match self.strings.last_mut() {
                // In a string: `\(` opens an interpolation, `\x` escapes, `"` closes.
                Some(None) => {
                    if self.escaped {
                        self.escaped = false;
                        if c == '(' {
                            *self.strings.last_mut().unwrap() = Some(0);
                        }
                    } else if c == '\\' {
                        self.escaped = true;
                    } else if c == '"' {
                        self.strings.pop();
                    }
                }
                // In code (top level or an interpolation): `"` opens a string.
                depth => match (c, depth) {
                    ('"', _) => self.strings.push(None),
                    ('(', Some(Some(open))) => *open += 1,
                    (')', Some(Some(0))) => *self.strings.last_mut().unwrap() = None,
                    (')', Some(Some(open))) => *open -= 1,
                    _ => {}
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{JqState, TagState};

    fn jq_after(text: &str) -> bool {
        let mut state = JqState::default();
        state.read(text);
        state.in_string()
    }

    #[test]
    fn jq_state_follows_strings_escapes_and_interpolations() {
        assert!(!jq_after(".a + "));
        assert!(jq_after(".a + \"hello "));
        assert!(!jq_after("\"done\" | "));
        assert!(jq_after("\"say \\\"hi\\\" "), "an escaped quote does not close the string");
        assert!(!jq_after("\"x \\(.a + "), "inside an interpolation is code");
        assert!(!jq_after("\"x \\((.a) + "), "parentheses inside an interpolation are counted");
        assert!(jq_after("\"x \\(.a) then "), "the interpolation closed, the string goes on");
        assert!(jq_after("\"x \\(\"in\" + \"y "), "a string inside an interpolation");
    }

    #[test]
    fn tag_state_follows_openers_and_closers() {
        assert_eq!(TagState::Text.after("Hello "), TagState::Text);
        assert_eq!(TagState::Text.after("Hello {{ "), TagState::Tag("}}"));
        assert_eq!(TagState::Text.after("{% if x %}a{{ b }}"), TagState::Text);
        assert_eq!(TagState::Text.after("{# note "), TagState::Tag("#}"));
        assert_eq!(TagState::Tag("%}").after(" > 2 %} then"), TagState::Text);
        assert_eq!(TagState::Text.after("{{name}} and {%- for "), TagState::Tag("%}"));
    }
}
