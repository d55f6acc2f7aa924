'use strict';
// Peer benchmark for the `function` block: the same work (`return input.n * 2;` with input
// {"n": 21}) done the way Sim Studio runs user JavaScript, in isolated-vm 5.0.4 on Node 20.
// Run it through ../js_peer.sh (it installs the pinned package and passes --no-node-snapshot).
//
// Two modes, timed per run, interleaved in rounds so machine noise hits both:
//   fresh_isolate                 new Isolate({memoryLimit: 128}) + context per run, then dispose:
//                                 what Sim's isolated-vm worker does for every execution.
//   shared_isolate_fresh_context  one isolate for the whole process, a new context per run,
//                                 released after: the cheapest isolation isolated-vm offers
//                                 short of reusing a context.
// Per run, both modes do what Sim's worker does around user code: bind `global` and the
// input (an ExternalCopy copied into the context), compile the body wrapped in Sim's async
// wrapper, run it with a timeout and promise proxying, and read the result back as JSON.
// Sim also installs a console/fetch bootstrap script and host callbacks per run; that is
// left out, so these figures are a lower bound of Sim's per-run cost.
//
// Env: ISOLATED_VM_RUNS (timed runs per mode, default 2000), ISOLATED_VM_WARMUP (untimed
// runs per mode first, default 200), ISOLATED_VM_ROUND (runs per mode per round, default 100).
// The last line printed is one JSON object for scripts to read.

const os = require('os');
const ivm = require('isolated-vm');
const IVM_VERSION = require('isolated-vm/package.json').version;

const BODY = 'return input.n * 2;';
const INPUT = { n: 21 };
const EXPECTED = 42;
const TIMEOUT_MS = 10000; // Sim passes the block's timeout to script.run; any value does here.

// Same shape as Sim's wrapper: the body inside an async function, result or error as JSON.
const WRAPPED = `
(async () => {
  try {
    const __userResult = await (async () => {
      ${BODY}
    })();
    return JSON.stringify({ success: true, result: __userResult });
  } catch (error) {
    return JSON.stringify({ success: false, error: { name: error.name, message: error.message } });
  }
})()
`;

function envCount(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

const RUNS = envCount('ISOLATED_VM_RUNS', 2000, 1);
const WARMUP = envCount('ISOLATED_VM_WARMUP', 200, 0);
const ROUND = envCount('ISOLATED_VM_ROUND', 100, 1);

// isolated-vm's README: Node 20+ must run with --no-node-snapshot, or isolates can crash.
function checkNodeFlags() {
  const major = Number(process.versions.node.split('.')[0]);
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS || '').split(/\s+/)];
  if (major >= 20 && !flags.includes('--no-node-snapshot')) {
    throw new Error('isolated-vm needs `node --no-node-snapshot` on Node 20+; run tests/benches/js_peer.sh');
  }
  if (major !== 20) {
    console.error(`warning: Sim Studio runs Node 20; this is ${process.version}`);
  }
}

// The work both modes share once they have a context: bind, compile, run, read back, check.
async function runInContext(isolate, context) {
  const jail = context.global;
  await jail.set('global', jail.derefInto());
  await jail.set('input', new ivm.ExternalCopy(INPUT).copyInto({ release: true }));
  const script = await isolate.compileScript(WRAPPED, { filename: 'user-function.js' });
  const json = await script.run(context, { timeout: TIMEOUT_MS, promise: true });
  script.release();
  check(json);
}

function check(json) {
  let parsed;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    throw new Error(`result is not JSON: ${String(json)}`);
  }
  if (!parsed.success || parsed.result !== EXPECTED) {
    throw new Error(`expected ${EXPECTED}, got ${json}`);
  }
}

async function freshIsolate() {
  const isolate = new ivm.Isolate({ memoryLimit: 128 });
  try {
    const context = await isolate.createContext();
    await runInContext(isolate, context);
  } finally {
    isolate.dispose();
  }
}

let shared = null;
async function sharedIsolateFreshContext() {
  const context = await shared.createContext();
  try {
    await runInContext(shared, context);
  } finally {
    context.release();
  }
}

const MODES = [
  { name: 'fresh_isolate', run: freshIsolate, times: [] },
  { name: 'shared_isolate_fresh_context', run: sharedIsolateFreshContext, times: [] },
];

async function timeRuns(mode, n, record) {
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await mode.run();
    const ns = process.hrtime.bigint() - start;
    if (record) mode.times.push(Number(ns) / 1000);
  }
}

// Rounds of ROUND runs per mode, the mode that goes first alternating each round.
async function interleaved(total, record) {
  let round = 0;
  for (let done = 0; done < total; done += ROUND, round++) {
    const n = Math.min(ROUND, total - done);
    const order = round % 2 === 0 ? MODES : [MODES[1], MODES[0]];
    for (const mode of order) await timeRuns(mode, n, record);
  }
}

// Linear interpolation between closest ranks (numpy's default).
function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const round1 = (x) => Math.round(x * 10) / 10;

async function main() {
  checkNodeFlags();
  const cpu = os.cpus()[0] ? os.cpus()[0].model.trim() : 'unknown';
  console.log(`node ${process.version}, isolated-vm ${IVM_VERSION}, ${cpu} (${os.cpus().length} CPUs)`);
  console.log(`body: ${BODY}  input: ${JSON.stringify(INPUT)}`);
  console.log(`warmup ${WARMUP} + timed ${RUNS} runs per mode, interleaved in rounds of ${ROUND}`);

  shared = new ivm.Isolate({ memoryLimit: 128 });
  await interleaved(WARMUP, false);
  await interleaved(RUNS, true);

  const medians = {};
  for (const mode of MODES) {
    const sorted = [...mode.times].sort((a, b) => a - b);
    medians[mode.name] = round1(quantile(sorted, 0.5));
    console.log(
      `${mode.name.padEnd(30)} runs ${sorted.length}  median ${round1(quantile(sorted, 0.5))} µs` +
        `  p10 ${round1(quantile(sorted, 0.1))} µs  p90 ${round1(quantile(sorted, 0.9))} µs`
    );
  }
  const heap = shared.getHeapStatisticsSync();
  console.log(`shared isolate heap after the run: ${round1(heap.used_heap_size / 1048576)} MiB used`);
  shared.dispose();

  console.log(
    JSON.stringify({
      fresh_isolate_median_us: medians.fresh_isolate,
      shared_isolate_fresh_context_median_us: medians.shared_isolate_fresh_context,
      node: process.version,
      isolated_vm: IVM_VERSION,
    })
  );
}

main().catch((err) => {
  console.error(`js peer bench FAILED: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
