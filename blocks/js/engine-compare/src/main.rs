//! Measures boa_engine 0.22 (as the `function` block uses it) against QuickJS through rquickjs:
//! start-up of a fresh sandbox, two compute-heavy bodies, and the pass rate of everyday snippets
//! whose expected JSON was produced by Node 20.
//!
//! `cargo run --release [-- REPETITIONS]` prints medians for both engines side by side;
//! `cargo run --release -- once MEASUREMENT ENGINE [COUNT]` runs COUNT repetitions (1) and no
//! comparison, for callgrind: the difference between COUNT 11 and 1, over 10, leaves out one-time set-up.

use std::hint::black_box;
use std::time::{Duration, Instant};

const SORTED_COUNT: usize = 100_000;
const JSON_ROWS: usize = 10_000;
const DEFAULT_REPETITIONS: usize = 15;
/// Start-up is a few hundred microseconds at most, so it gets more repetitions for a stable median.
const STARTUP_REPETITION_FACTOR: usize = 10;

/// Park–Miller's generator: every product stays below 2^53, so JavaScript numbers compute it exactly.
const LCG_SEED: u64 = 12_345;
const LCG_MULTIPLIER: u64 = 16_807;
const LCG_MODULUS: u64 = 2_147_483_647;

const STARTUP_SOURCE: &str = "1+1";
const FILL_SOURCE: &str = "globalThis.arr = []; let seed = 12345; \
    for (let i = 0; i < 100000; i++) { seed = (seed * 16807) % 2147483647; arr.push(seed); } arr.length";
const SORT_SOURCE: &str = "arr.sort((a, b) => a - b); arr[0] + ',' + arr[50000] + ',' + arr[99999]";
const JSON_SOURCE: &str =
    "globalThis.out = JSON.parse(input).filter(r => r.v % 3 === 0).map(r => ({id: r.id, v: r.v * 2})); out.length";
const JSON_CHECKSUM_SOURCE: &str = "out.length + ',' + out.reduce((sum, r) => sum + r.v + r.id, 0)";
/// The global the Rust-built JSON text is bound to before `JSON_SOURCE` parses it.
const JSON_INPUT_GLOBAL: &str = "input";
/// The global a snippet's result lands in once the job queue has settled its promise.
const SNIPPET_RESULT_GLOBAL: &str = "__out";

#[derive(Clone, Copy)]
enum Engine {
    Boa,
    QuickJs,
}

impl Engine {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "boa" => Some(Self::Boa),
            "quickjs" => Some(Self::QuickJs),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
enum Measurement {
    Startup,
    Fill,
    Sort,
    Json,
}

impl Measurement {
    const ALL: [Self; 4] = [Self::Startup, Self::Fill, Self::Sort, Self::Json];

    fn name(self) -> &'static str {
        match self {
            Self::Startup => "startup",
            Self::Fill => "fill",
            Self::Sort => "sort",
            Self::Json => "json",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Startup => "(a) fresh runtime+context, eval `1+1`",
            Self::Fill => "    LCG loop pushing 100,000 numbers",
            Self::Sort => "(b) sort 100,000 numbers, (a,b)=>a-b",
            Self::Json => "(b) JSON.parse 10,000 rows + filter/map",
        }
    }
}

/// JSON text of `JSON_ROWS` rows, built in Rust so neither engine's serializer is involved.
fn json_input() -> String {
    let rows: Vec<String> =
        (0..JSON_ROWS).map(|id| format!(r#"{{"id":{id},"name":"row {id}","v":{}}}"#, (id * 7919) % 10_007)).collect();
    format!("[{}]", rows.join(","))
}

/// What a correct engine must answer for `measurement`, computed natively.
fn expected_checksum(measurement: Measurement) -> String {
    match measurement {
        Measurement::Startup => "2".to_owned(),
        Measurement::Fill => SORTED_COUNT.to_string(),
        Measurement::Sort => {
            let mut seed = LCG_SEED;
            let mut numbers: Vec<u64> = (0..SORTED_COUNT)
                .map(|_| {
                    seed = seed * LCG_MULTIPLIER % LCG_MODULUS;
                    seed
                })
                .collect();
            numbers.sort_unstable();
            format!("{},{},{}", numbers[0], numbers[SORTED_COUNT / 2], numbers[SORTED_COUNT - 1])
        }
        Measurement::Json => {
            let kept: Vec<(usize, usize)> = (0..JSON_ROWS)
                .map(|id| (id, (id * 7919) % 10_007))
                .filter(|(_, v)| v % 3 == 0)
                .map(|(id, v)| (id, v * 2))
                .collect();
            let sum: usize = kept.iter().map(|(id, v)| id + v).sum();
            format!("{},{sum}", kept.len())
        }
    }
}

/// The only code callgrind counts (`--toggle-collect='*engine_compare::timed*'`).
#[inline(never)]
fn timed<R>(work: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let result = black_box(work());
    (start.elapsed(), result)
}

mod boa {
    use super::*;
    use boa_engine::property::Attribute;
    use boa_engine::{Context, JsString, Source};

    fn eval_to_string(context: &mut Context, source: &str) -> Result<String, String> {
        let value = context.eval(Source::from_bytes(source)).map_err(|e| e.to_string())?;
        let text = value.to_string(context).map_err(|e| e.to_string())?;
        Ok(text.to_std_string_escaped())
    }

    /// A fresh context prepared for `measurement`, outside the timed part.
    fn prepared(measurement: Measurement, input: &str) -> Result<Context, String> {
        let mut context = Context::default();
        match measurement {
            Measurement::Startup | Measurement::Fill => {}
            Measurement::Sort => {
                eval_to_string(&mut context, FILL_SOURCE)?;
            }
            Measurement::Json => {
                context
                    .register_global_property(
                        JsString::from(JSON_INPUT_GLOBAL),
                        JsString::from(input),
                        Attribute::all(),
                    )
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(context)
    }

    /// One repetition: the timed part and the engine's checksum.
    pub fn run(measurement: Measurement, input: &str) -> Result<(Duration, String), String> {
        if let Measurement::Startup = measurement {
            let (elapsed, result) = timed(|| {
                let mut context = Context::default();
                eval_to_string(&mut context, STARTUP_SOURCE)
            });
            return Ok((elapsed, result?));
        }
        let mut context = prepared(measurement, input)?;
        let source = match measurement {
            Measurement::Fill => FILL_SOURCE,
            Measurement::Sort => SORT_SOURCE,
            _ => JSON_SOURCE,
        };
        let (elapsed, result) = timed(|| eval_to_string(&mut context, source));
        let mut checksum = result?;
        if let Measurement::Json = measurement {
            checksum = eval_to_string(&mut context, JSON_CHECKSUM_SOURCE)?;
        }
        Ok((elapsed, checksum))
    }

    /// The snippet's JSON text, its promise (if any) settled by draining the job queue.
    pub fn snippet(source: &str) -> Result<String, String> {
        let mut context = Context::default();
        context.eval(Source::from_bytes(source)).map_err(|e| e.to_string())?;
        context.run_jobs().map_err(|e| e.to_string())?;
        let result = context.eval(Source::from_bytes(SNIPPET_RESULT_GLOBAL)).map_err(|e| e.to_string())?;
        match result.as_string() {
            Some(text) => Ok(text.to_std_string_escaped()),
            None => Err(format!("no JSON result: {}", result.display())),
        }
    }
}

mod quickjs {
    use super::*;
    use rquickjs::{CaughtError, Context, Ctx, Runtime};

    fn caught(ctx: &Ctx<'_>, error: rquickjs::Error) -> String {
        CaughtError::from_error(ctx, error).to_string()
    }

    fn fresh() -> Result<(Runtime, Context), String> {
        let runtime = Runtime::new().map_err(|e| e.to_string())?;
        let context = Context::full(&runtime).map_err(|e| e.to_string())?;
        Ok((runtime, context))
    }

    fn eval_to_string(context: &Context, source: &str) -> Result<String, String> {
        context.with(|ctx| {
            let value: rquickjs::Value = ctx.eval(source).map_err(|e| caught(&ctx, e))?;
            let text: rquickjs::Coerced<String> = value.get().map_err(|e| caught(&ctx, e))?;
            Ok(text.0)
        })
    }

    pub fn run(measurement: Measurement, input: &str) -> Result<(Duration, String), String> {
        if let Measurement::Startup = measurement {
            let (elapsed, result) = timed(|| {
                let (_runtime, context) = fresh()?;
                eval_to_string(&context, STARTUP_SOURCE)
            });
            return Ok((elapsed, result?));
        }
        let (_runtime, context) = fresh()?;
        match measurement {
            Measurement::Sort => {
                eval_to_string(&context, FILL_SOURCE)?;
            }
            Measurement::Json => {
                context.with(|ctx| ctx.globals().set(JSON_INPUT_GLOBAL, input).map_err(|e| caught(&ctx, e)))?
            }
            _ => {}
        }
        let source = match measurement {
            Measurement::Fill => FILL_SOURCE,
            Measurement::Sort => SORT_SOURCE,
            _ => JSON_SOURCE,
        };
        let (elapsed, result) = timed(|| eval_to_string(&context, source));
        let mut checksum = result?;
        if let Measurement::Json = measurement {
            checksum = eval_to_string(&context, JSON_CHECKSUM_SOURCE)?;
        }
        Ok((elapsed, checksum))
    }

    pub fn snippet(source: &str) -> Result<String, String> {
        let (runtime, context) = fresh()?;
        context.with(|ctx| ctx.eval::<(), _>(source).map_err(|e| caught(&ctx, e)))?;
        while runtime.execute_pending_job().map_err(|e| format!("job failed: {e:?}"))? {}
        context.with(|ctx| {
            let result: rquickjs::Value = ctx.globals().get(SNIPPET_RESULT_GLOBAL).map_err(|e| caught(&ctx, e))?;
            match result.as_string() {
                Some(text) => text.to_string().map_err(|e| caught(&ctx, e)),
                None => Err(format!("no JSON result: {result:?}")),
            }
        })
    }
}

fn run(engine: Engine, measurement: Measurement, input: &str) -> Result<(Duration, String), String> {
    match engine {
        Engine::Boa => boa::run(measurement, input),
        Engine::QuickJs => quickjs::run(measurement, input),
    }
}

/// Wraps a function body so that both a plain value and a promise end as JSON text in
/// `SNIPPET_RESULT_GLOBAL` once the job queue is drained (a rejection ends as text that matches no expectation).
fn snippet_source(body: &str) -> String {
    format!(
        "var {SNIPPET_RESULT_GLOBAL};\nPromise.resolve((function () {{\n{body}\n}})()).then(\
         v => {{ {SNIPPET_RESULT_GLOBAL} = JSON.stringify(v); }}, \
         e => {{ {SNIPPET_RESULT_GLOBAL} = 'rejected: ' + e; }});"
    )
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn format_duration(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 { format!("{micros:.0} µs") } else { format!("{:.2} ms", micros / 1000.0) }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn compare_timings(repetitions: usize, input: &str) -> Result<(), String> {
    println!("{:<42} {:>12} {:>12} {:>12}", "measurement (median)", "boa", "quickjs", "boa/quickjs");
    for measurement in Measurement::ALL {
        let expected = expected_checksum(measurement);
        let count = match measurement {
            Measurement::Startup => repetitions * STARTUP_REPETITION_FACTOR,
            _ => repetitions,
        };
        let mut samples = [Vec::new(), Vec::new()];
        // Interleaved, so a burst of load from other processes hits both engines alike.
        for _ in 0..count {
            for (index, engine) in [Engine::Boa, Engine::QuickJs].into_iter().enumerate() {
                let (elapsed, checksum) = run(engine, measurement, input)?;
                if checksum != expected {
                    return Err(format!("{}: wrong answer {checksum}, expected {expected}", measurement.name()));
                }
                samples[index].push(elapsed);
            }
        }
        let [boa, quickjs] = samples.map(median);
        println!(
            "{:<42} {:>12} {:>12} {:>11.1}x",
            measurement.describe(),
            format_duration(boa),
            format_duration(quickjs),
            boa.as_secs_f64() / quickjs.as_secs_f64()
        );
    }
    Ok(())
}

fn compare_snippets() -> Result<(), String> {
    let data =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/snippets.json")).map_err(|e| e.to_string())?;
    let snippets: Vec<serde_json::Value> = serde_json::from_str(&data).map_err(|e| e.to_string())?;
    let mut passed = [0, 0];
    println!("\n{:<58} {:<8} {:<8}", "snippet (expected: Node 20)", "boa", "quickjs");
    for snippet in &snippets {
        let field = |key: &str| snippet[key].as_str().ok_or_else(|| format!("snippet without {key}: {snippet}"));
        let (name, body, expected) = (field("name")?, field("body")?, field("expected")?);
        let source = snippet_source(body);
        let outcomes = [boa::snippet(&source), quickjs::snippet(&source)];
        let marks: Vec<&str> = outcomes
            .iter()
            .zip(&mut passed)
            .map(|(outcome, count)| {
                let ok = outcome.as_deref() == Ok(expected);
                *count += usize::from(ok);
                if ok { "ok" } else { "FAIL" }
            })
            .collect();
        println!("{name:<58} {:<8} {:<8}", marks[0], marks[1]);
        for (engine, outcome) in ["boa", "quickjs"].iter().zip(&outcomes) {
            if outcome.as_deref() != Ok(expected) {
                let got = match outcome {
                    Ok(text) => text.clone(),
                    Err(error) => format!("error: {error}"),
                };
                println!("    {engine}: {got}\n    node: {expected}");
            }
        }
    }
    println!("passed: boa {}/{}, quickjs {}/{}", passed[0], snippets.len(), passed[1], snippets.len());
    Ok(())
}

fn main() -> Result<(), String> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let input = json_input();
    if let [mode, measurement, engine, count @ ..] = arguments.as_slice()
        && mode == "once"
    {
        let measurement = Measurement::ALL
            .into_iter()
            .find(|m| m.name() == measurement)
            .ok_or_else(|| format!("measurement is one of startup, fill, sort, json, not {measurement}"))?;
        let engine_name = engine;
        let engine = Engine::parse(engine).ok_or_else(|| format!("engine is boa or quickjs, not {engine}"))?;
        let count: usize = match count {
            [] => 1,
            [count] => count.parse().map_err(|_| format!("count must be a number, not {count}"))?,
            _ => return Err("usage: once MEASUREMENT ENGINE [COUNT]".to_owned()),
        };
        for _ in 0..count {
            let (elapsed, checksum) = run(engine, measurement, &input)?;
            println!("{} {engine_name}: {} ({checksum})", measurement.name(), format_duration(elapsed));
        }
        return Ok(());
    }
    let repetitions = match arguments.first() {
        Some(count) => count.parse().map_err(|_| format!("repetitions must be a number, not {count}"))?,
        None => DEFAULT_REPETITIONS,
    };
    println!("machine: {} cores (nproc), {}", std::thread::available_parallelism().map_or(0, |n| n.get()), cpu_model());
    println!("repetitions: {repetitions} ({}x for start-up), boa and quickjs interleaved\n", STARTUP_REPETITION_FACTOR);
    compare_timings(repetitions, &input)?;
    compare_snippets()
}
