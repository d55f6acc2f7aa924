//! Every reference must name something that exists and will have run first, and
//! every `{{NAME}}` naming a variable the execution provides must be granted.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde_json::Value;

use crate::graph::{Problem, WorkflowGraph};
use crate::model::WorkflowState;
use crate::reference::{BlockIndex, FoundByText, KeyMatch, Reference, find_references, variable_id};

/// The workflow as the reference check sees it.
pub(super) struct ReferenceCheck<'a> {
    pub(super) state: &'a WorkflowState,
    pub(super) graph: &'a WorkflowGraph,
    pub(super) index: &'a BlockIndex,
    /// The environment variables the execution provides (empty when validating a draft).
    pub(super) provided_env: &'a BTreeSet<String>,
    /// Whether to keep the references found, for an execution to resolve.
    pub(super) keep_found: bool,
}

/// Where a text sits, and so what it may reference.
struct Site<'a> {
    /// The block or container whose field holds the text.
    owner: &'a str,
    /// Outputs visible besides what is upstream of `owner` (a loop's direct
    /// members, for its `whileCondition`).
    also_visible: Option<&'a BTreeSet<String>>,
    /// Containers still running when the text is resolved, innermost first.
    running: Vec<String>,
}

/// How many edits a `{{NAME}}` may be from a granted name to count as its misspelling.
const MAX_TYPO_EDITS: usize = 2;
/// Names shorter than this are never taken for misspellings.
const MIN_TYPO_NAME_CHARS: usize = 4;

impl ReferenceCheck<'_> {
    /// Checks the references in every block's params and every container's
    /// fields, keeping what it found in `found` for executions to resolve.
    pub(super) fn run(&self, problems: &mut Vec<Problem>, found: &mut FoundByText) {
        // One buffer for every field path: most strings hold no problem, so
        // their paths are never turned into a `Problem`'s field.
        let mut field = String::new();
        for (id, block) in &self.state.blocks {
            let Some(params) = &block.params else { continue };
            let mut site = None;
            for (key, value) in params {
                field.clear();
                field.push_str("params.");
                field.push_str(key);
                walk(value, &mut field, &mut |text, field| {
                    let site = site.get_or_insert_with(|| self.block_site(id));
                    self.check_text(site, text, field, problems, found);
                });
            }
        }
        for (id, def) in &self.state.loops {
            if let Some(items) = &def.for_each_items {
                let site = self.block_site(id);
                field.clear();
                field.push_str("forEachItems");
                walk(items, &mut field, &mut |text, field| self.check_text(&site, text, field, problems, found));
            }
            if let Some(condition) = &def.while_condition {
                // The condition runs between iterations: the loop's own
                // `<loop.*>` and its direct members' latest outputs are visible.
                let mut site = self.block_site(id);
                site.running.insert(0, id.clone());
                site.also_visible = Some(&self.graph.scope(&Some(id.clone())).nodes);
                self.check_text(&site, condition, &mut || "whileCondition".into(), problems, found);
            }
        }
        for (id, def) in &self.state.parallels {
            if let Some(items) = &def.distribution {
                let site = self.block_site(id);
                field.clear();
                field.push_str("distribution");
                walk(items, &mut field, &mut |text, field| self.check_text(&site, text, field, problems, found));
            }
        }
    }

    fn block_site<'s>(&'s self, owner: &'s str) -> Site<'s> {
        Site { owner, also_visible: None, running: self.graph.enclosing_containers(owner) }
    }

    /// `field` is called for the text's field path only when there is a problem to report.
    fn check_text(
        &self,
        site: &Site<'_>,
        text: &str,
        field: &mut dyn FnMut() -> String,
        problems: &mut Vec<Problem>,
        found_by_text: &mut FoundByText,
    ) {
        let found = find_references(text);
        for found in &found {
            if let Some(message) = self.problem_with(site, &found.reference) {
                problems.push(Problem { block_id: Some(site.owner.into()), field: Some(field()), message });
            }
        }
        if self.keep_found && !found.is_empty() && !found_by_text.contains_key(text) {
            found_by_text.insert(text.to_string(), found);
        }
    }

    fn problem_with(&self, site: &Site<'_>, reference: &Reference) -> Option<String> {
        let in_loop = || site.running.iter().any(|c| self.state.loops.contains_key(c));
        let in_parallel = || site.running.iter().any(|c| self.state.parallels.contains_key(c));
        match reference {
            Reference::Env { name } => self.grant_problem(site, reference, name),
            Reference::Variable { name, .. } => variable_id(&self.state.variables, name)
                .is_none()
                .then(|| format!("`{reference}` refers to undeclared variable `{name}`")),
            Reference::Loop { .. } => (!in_loop()).then(|| format!("`{reference}` is only available inside a loop")),
            Reference::Parallel { .. } => {
                (!in_parallel()).then(|| format!("`{reference}` is only available inside a parallel"))
            }
            Reference::Block { key, path } => match self.index.resolve(key) {
                KeyMatch::Unknown if path.is_empty() => None,
                KeyMatch::Unknown if key == "loop" || key == "parallel" => {
                    Some(format!("`{reference}`: a {key} offers only index, currentItem and items"))
                }
                KeyMatch::Unknown => Some(format!("`{reference}` refers to unknown block `{key}`")),
                KeyMatch::Ambiguous(ids) => Some(format!(
                    "`{reference}` is ambiguous: blocks {} share that name; use an ID",
                    ids.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
                )),
                KeyMatch::Found(id) => self.target_problem(site, reference, id),
            },
        }
    }

    /// `{{NAME}}` naming a provided variable resolves only where the block's `env`
    /// lists NAME (SPEC 2, "Environment references are grants"); naming no provided
    /// variable it is text, never a problem.
    fn grant_problem(&self, site: &Site<'_>, reference: &Reference, name: &str) -> Option<String> {
        if !self.provided_env.contains(name) {
            return self.misspelt_grant(site, reference, name);
        }
        let Some(block) = self.state.blocks.get(site.owner) else {
            return Some(format!(
                "`{reference}` names environment variable `{name}`, but a loop's or parallel's fields cannot be granted environment variables"
            ));
        };
        let granted = block.env.iter().flatten().any(|g| g == name);
        (!granted).then(|| {
            format!(
                "`{reference}` names environment variable `{name}`, which block `{}` is not granted: add \"{name}\" to its `env`",
                site.owner
            )
        })
    }

    /// `{{NAME}}` naming no provided variable stays text, unless NAME is one or two edits
    /// from a variable the block is granted: then it is almost surely a typo, which would
    /// otherwise send the literal `{{API_KY}}` to an API instead of failing here.
    fn misspelt_grant(&self, site: &Site<'_>, reference: &Reference, name: &str) -> Option<String> {
        // In a name this short, two edits say nothing: `{{id}}` is a template's own variable.
        if name.len() < MIN_TYPO_NAME_CHARS {
            return None;
        }
        let block = self.state.blocks.get(site.owner)?;
        let closest = block
            .env
            .iter()
            .flatten()
            .map(|granted| (strsim::levenshtein(granted, name), granted))
            .filter(|(distance, _)| (1..=MAX_TYPO_EDITS).contains(distance))
            .min()?;
        Some(format!(
            "`{reference}` names no provided environment variable; did you mean `{}`, which block `{}` is granted?",
            closest.1, site.owner
        ))
    }

    fn target_problem(&self, site: &Site<'_>, reference: &Reference, id: &str) -> Option<String> {
        if id == site.owner {
            return Some(format!("`{reference}` refers to `{id}` itself"));
        }
        if site.running.iter().any(|c| c == id) {
            return Some(format!(
                "`{reference}` refers to `{id}`, which is still running around this reference; use <loop.…> or <parallel.…>"
            ));
        }
        if site.also_visible.is_some_and(|visible| visible.contains(id)) || self.graph.is_upstream(site.owner, id) {
            return None;
        }
        let hint = match self.graph.container_of.get(id) {
            Some(container) if !site.running.contains(container) => {
                format!("; it is inside `{container}`, whose output holds its results")
            }
            _ => String::new(),
        };
        Some(format!("`{reference}` refers to `{id}`, which is not upstream of `{}`{hint}", site.owner))
    }
}

/// Calls `visit` with every string in `value` and a way to write its field
/// path (`field` as given, extended with `.key` and `[i]` on the way down).
fn walk(value: &Value, field: &mut String, visit: &mut dyn FnMut(&str, &mut dyn FnMut() -> String)) {
    match value {
        Value::String(text) => visit(text, &mut || field.clone()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = field.len();
                let _ = write!(field, "[{i}]");
                walk(item, field, visit);
                field.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = field.len();
                field.push('.');
                field.push_str(key);
                walk(item, field, visit);
                field.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
