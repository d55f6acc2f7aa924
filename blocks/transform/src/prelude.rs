//! The jq definitions every filter sees: jaq's, with the block's own in place of jaq's same-named ones.
//!
//! jaq resolves a name inside a definition when the definition is compiled, against the
//! definitions before it, so appending a replacement would leave jaq's callers on jaq's version.
//! Instead jaq's replaced definitions are dropped and the rest put in an order where every
//! definition follows those it calls.

use std::collections::{BTreeMap, BTreeSet};

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::path::Part;

use crate::natives;

/// A definition's name and arity, which together identify it.
pub type Sig = (&'static str, usize);

fn sig(def: &Def) -> Sig {
    (def.name, def.args.len())
}

/// The block's jq definitions.
pub fn block_defs() -> Vec<Def> {
    jaq_core::load::parse(include_str!("defs.jq"), |p| p.defs()).unwrap_or_default()
}

/// The names and arities the block defines, which replace jaq's definitions and natives.
pub fn block_sigs() -> BTreeSet<Sig> {
    block_defs().iter().map(sig).collect()
}

/// jaq's core, standard and JSON definitions, then the block's, each name defined once; jaq's
/// definitions of the block's natives are left out, as a definition would shadow the native.
pub fn full() -> Vec<Def> {
    let natives: BTreeSet<Sig> = natives::funs().map(|(name, args, _)| (name, args.len())).collect();
    let jaq_defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
    merge(jaq_defs.filter(|def| !natives.contains(&sig(def))).collect(), block_defs())
}

/// jaq's core definitions, less those the block replaces and those that call a replaced one:
/// a filter needing any of them (or a native the block replaces) compiles with [`full`].
pub fn core() -> Vec<Def> {
    let mut unavailable = block_sigs();
    let mut kept = Vec::new();
    // jaq's core calls only definitions before the caller, so one pass sees every transitive caller.
    for def in jaq_core::defs() {
        if unavailable.contains(&sig(&def)) || calls(&def).iter().any(|callee| unavailable.contains(callee)) {
            unavailable.insert(sig(&def));
        } else {
            kept.push(def);
        }
    }
    kept
}

/// Definitions in order, each with the definitions it may call, so that a filter is compiled
/// with only the definitions it can reach rather than all of them.
pub struct Prelude {
    defs: Vec<Def>,
    by_name: BTreeMap<&'static str, Vec<usize>>,
    /// For each definition, the definitions named like a filter its body calls, of any arity.
    callees: Vec<Vec<usize>>,
}

impl Prelude {
    pub fn new(defs: Vec<Def>) -> Self {
        let mut by_name: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        for (index, def) in defs.iter().enumerate() {
            by_name.entry(def.name).or_default().push(index);
        }
        let callees = (defs.iter())
            .map(|def| {
                let mut found = BTreeSet::new();
                term_calls(&def.body, &mut found);
                let names: BTreeSet<&str> = found.into_iter().map(|(name, _)| name).collect();
                names.into_iter().flat_map(|name| by_name.get(name).into_iter().flatten().copied()).collect()
            })
            .collect();
        Self { defs, by_name, callees }
    }

    /// Every definition, in order.
    pub fn defs(&self) -> &[Def] {
        &self.defs
    }

    /// The definitions named in `names` and those they call, transitively, in their order.
    ///
    /// jaq's parser makes a call only from a word or a `@format` token, so a program whose
    /// tokens are `names` can call no other definition; the rest would be compiled and never
    /// run. A definition is resolved against those before it, all of which are kept when it
    /// calls them, so the program compiles to the same filter as with [`Prelude::defs`], with
    /// the same errors. A name matches every arity and local names match too: keeping a
    /// definition the program cannot call changes nothing but the work.
    pub fn reachable<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Vec<Def> {
        let mut kept = vec![false; self.defs.len()];
        let mut pending: Vec<usize> =
            names.into_iter().filter_map(|name| self.by_name.get(name)).flatten().copied().collect();
        while let Some(index) = pending.pop() {
            if !std::mem::replace(&mut kept[index], true) {
                pending.extend(&self.callees[index]);
            }
        }
        (self.defs.iter().zip(kept)).filter(|(_, kept)| *kept).map(|(def, _)| def.clone()).collect()
    }
}

/// `ours` in place of the same-named ones of `theirs`, every definition after those it calls.
fn merge(theirs: Vec<Def>, ours: Vec<Def>) -> Vec<Def> {
    let replaced: BTreeSet<Sig> = ours.iter().map(sig).collect();
    let mut pending: Vec<Def> = theirs.into_iter().filter(|def| !replaced.contains(&sig(def))).chain(ours).collect();
    let defined: BTreeSet<Sig> = pending.iter().map(sig).collect();
    let mut placed = BTreeSet::new();
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for def in pending {
            let ready = calls(&def)
                .iter()
                .all(|callee| *callee == sig(&def) || !defined.contains(callee) || placed.contains(callee));
            if ready {
                placed.insert(sig(&def));
                ordered.push(def);
            } else {
                waiting.push(def);
            }
        }
        // A cycle cannot be ordered; compiling then reports the definition that is not yet defined.
        if waiting.len() == before {
            ordered.extend(waiting);
            break;
        }
        pending = waiting;
    }
    ordered
}

/// The filters `def` calls by name, less its own filter arguments.
fn calls(def: &Def) -> BTreeSet<Sig> {
    let mut found = BTreeSet::new();
    term_calls(&def.body, &mut found);
    for arg in &def.args {
        found.remove(&(*arg, 0));
    }
    found
}

fn term_calls(term: &Term<&'static str>, found: &mut BTreeSet<Sig>) {
    let mut children: Vec<&Term<&'static str>> = Vec::new();
    match term {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_) | Term::Arr(None) => {}
        Term::Str(format, parts) => {
            // `@base64 "\(.)"` calls the filter `@base64` on each interpolated value.
            if let Some(format) = format {
                found.insert((format, 0));
            }
            children.extend(parts.iter().filter_map(|part| match part {
                StrPart::Term(t) => Some(t),
                _ => None,
            }))
        }
        Term::Arr(Some(t)) | Term::Neg(t) | Term::Label(_, t) => children.push(t),
        Term::Obj(entries) => {
            children.extend(entries.iter().flat_map(|(key, value)| std::iter::once(key).chain(value)))
        }
        Term::BinOp(l, op, r) => {
            children.extend([&**l, &**r]);
            if let BinaryOp::Pipe(Some(pattern)) = op {
                pattern_calls(pattern, found);
            }
        }
        Term::Fold(_, xs, pattern, args) => {
            children.push(xs);
            children.extend(args);
            pattern_calls(pattern, found);
        }
        Term::TryCatch(t, catch) => children.extend(std::iter::once(&**t).chain(catch.as_deref())),
        Term::IfThenElse(branches, otherwise) => {
            children.extend(branches.iter().flat_map(|(cond, then)| [cond, then]));
            children.extend(otherwise.as_deref());
        }
        Term::Def(defs, t) => {
            children.extend(defs.iter().map(|local| &local.body));
            children.push(t);
        }
        Term::Call(name, args) => {
            found.insert((*name, args.len()));
            children.extend(args);
        }
        Term::Path(t, path) => {
            children.push(t);
            for (part, _) in &path.0 {
                match part {
                    Part::Index(i) => children.push(i),
                    Part::Range(from, to) => children.extend(from.iter().chain(to)),
                }
            }
        }
    }
    for child in children {
        term_calls(child, found);
    }
}

fn pattern_calls(pattern: &Pattern<&'static str>, found: &mut BTreeSet<Sig>) {
    match pattern {
        Pattern::Var(_) => {}
        Pattern::Arr(items) => items.iter().for_each(|p| pattern_calls(p, found)),
        Pattern::Obj(entries) => entries.iter().for_each(|(key, p)| {
            term_calls(key, found);
            pattern_calls(p, found);
        }),
    }
}
