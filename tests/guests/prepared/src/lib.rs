//! A block with an init hook, to show pre-initialization end to end: `prepare`
//! builds a table of primes once, and each run reports whether the table was
//! already there when the run began (it is, when the component is a snapshot)
//! and how many runs this instance has seen (always 1: every run starts fresh).

use std::cell::{Cell, OnceCell};

use sandflow_sdk::{Block, BlockError, Context, JsonSchema, Outcome};
use serde::{Deserialize, Serialize};

/// Primes in the table: enough that building it is real work.
const PRIMES: usize = 2_000;

thread_local! {
    static TABLE: OnceCell<Vec<u32>> = const { OnceCell::new() };
    static RUNS: Cell<u32> = const { Cell::new(0) };
}

fn primes() -> Vec<u32> {
    let mut found = Vec::with_capacity(PRIMES);
    let mut candidate = 2u32;
    while found.len() < PRIMES {
        if found.iter().take_while(|p| **p * **p <= candidate).all(|p| candidate % p != 0) {
            found.push(candidate);
        }
        candidate += 1;
    }
    found
}

fn prepare() {
    TABLE.with(|table| {
        table.get_or_init(primes);
    });
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
struct Params {
    /// Which prime to return, from 0.
    index: usize,
}

#[derive(Serialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(rename_all = "camelCase")]
struct Output {
    prime: u32,
    prepared_before_run: bool,
    runs_seen: u32,
}

struct Prepared;

impl Block for Prepared {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "prepared";
    const DESCRIPTION: &'static str = "Returns a prime from a table built by its init hook";

    fn run(_ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        let prepared_before_run = TABLE.with(|table| table.get().is_some());
        let runs_seen = RUNS.with(|runs| {
            runs.set(runs.get() + 1);
            runs.get()
        });
        let prime = TABLE.with(|table| table.get_or_init(primes).get(params.index).copied());
        let prime = prime.ok_or_else(|| BlockError::invalid_input(format!("index: at most {}", PRIMES - 1)))?;
        Ok(Outcome::Done(Output { prime, prepared_before_run, runs_seen }))
    }
}

sandflow_sdk::export_block!(Prepared, init = prepare);
