// @sandflow/block: write a Sandflow workflow block in JavaScript or TypeScript.
//
// A block is one `defineBlock({...})` default export. The build driver
// (build.mjs) bundles it with this module and a generated entry that exports
// the WIT world's `describe` and `run`; componentize-js turns the bundle into a
// `sandflow:block` component. The three host interfaces are imported below
// under their WIT names: they exist only inside the component.

import { log as hostLog } from 'sandflow:block/capabilities@0.1.0';
import { fetch as hostFetch } from 'sandflow:block/http@0.1.0';
import { sleep as hostSleep } from 'sandflow:block/timer@0.1.0';

const BLOCK = Symbol.for('sandflow.block');
const OUTCOME = Symbol('sandflow.outcome');

/** Thrown by a block whose params do not fit: the run ends with `invalid-input`. */
export class InvalidInput extends Error {
  constructor(message) {
    super(message);
    this.name = 'InvalidInput';
  }
}

/** Thrown by `ctx.fetch` when the host refuses or cannot complete a request. */
export class FetchError extends Error {
  constructor(kind, detail, url) {
    super(`fetch ${url}: ${kind}: ${detail}`);
    this.name = 'FetchError';
    /** 'refused' | 'invalid-request' | 'timeout' | 'too-large' | 'failed' */
    this.kind = kind;
    this.detail = detail;
    this.url = url;
  }
}

/** Finish and fire only the edges of `name` (`router-<name>` / `condition-<name>`). */
export function route(name, output) {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError('route(name, output): name must be a non-empty string');
  }
  return { [OUTCOME]: 'route', route: name, output };
}

/** Stop this branch until it is resumed (by someone, or by the host after `resumeAfterMs`). */
export function pause({ response, resumeAfterMs, inputSchema } = {}) {
  if (resumeAfterMs !== undefined && resumeAfterMs !== null) {
    if (!Number.isSafeInteger(resumeAfterMs) || resumeAfterMs < 0) {
      throw new TypeError('pause: resumeAfterMs must be a non-negative integer');
    }
  }
  return { [OUTCOME]: 'pause', response, resumeAfterMs, inputSchema };
}

/** Declares a block. Its return value must be the module's default export. */
export function defineBlock(definition) {
  if (definition === null || typeof definition !== 'object') {
    throw new TypeError('defineBlock: expected an object {name, version, description, run}');
  }
  for (const key of ['name', 'version']) {
    if (typeof definition[key] !== 'string' || definition[key] === '') {
      throw new TypeError(`defineBlock: \`${key}\` must be a non-empty string`);
    }
  }
  if (definition.description !== undefined && typeof definition.description !== 'string') {
    throw new TypeError('defineBlock: `description` must be a string');
  }
  if (typeof definition.run !== 'function') {
    throw new TypeError('defineBlock: `run` must be a function (params, ctx) => output');
  }
  const block = Object.freeze({ ...definition });
  return Object.freeze({ [BLOCK]: block, ...block });
}

// ---------------------------------------------------------------------------
// The world's exports. build.mjs's generated entry calls `exportsOf(default)`.

/** @internal The WIT exports `describe` and `run` of a `defineBlock` result. */
export function exportsOf(value) {
  const block = value && (value[BLOCK] ?? value);
  if (!block || typeof block.run !== 'function' || typeof block.name !== 'string') {
    throw new TypeError(
      'the block module must `export default defineBlock({ name, version, description, run })`',
    );
  }
  const manifest = {
    name: block.name,
    version: block.version ?? '0.1.0',
    description: block.description ?? '',
    inputSchema: schemaText(block.inputSchema, 'inputSchema'),
    outputSchema: schemaText(block.outputSchema, 'outputSchema'),
  };
  return {
    describe: () => manifest,
    run: (info, params, env, vars) => runBlock(block, info, params, env, vars),
  };
}

function schemaText(schema, field) {
  if (schema === undefined || schema === null) return '{}';
  if (typeof schema === 'boolean' || (typeof schema === 'object' && !Array.isArray(schema))) {
    return JSON.stringify(schema);
  }
  throw new TypeError(`defineBlock: \`${field}\` must be a JSON Schema object`);
}

function runBlock(block, info, paramsText, env, vars) {
  const restore = redirectGlobals();
  let result;
  try {
    const params = JSON.parse(paramsText);
    const ctx = makeContext(info, env, vars);
    result = block.run(params, ctx);
  } catch (e) {
    restore();
    return failure(e);
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    // An async run: the generated export awaits it, and the engine runs its
    // event loop (promise jobs and timers) until it settles.
    return Promise.resolve(result).then(
      (output) => {
        restore();
        return success(output);
      },
      (e) => {
        restore();
        return failure(e);
      },
    );
  }
  restore();
  return success(result);
}

function success(output) {
  try {
    if (output !== null && typeof output === 'object' && output[OUTCOME] === 'route') {
      return ok({ tag: 'route', val: { route: output.route, output: jsonText(output.output) } });
    }
    if (output !== null && typeof output === 'object' && output[OUTCOME] === 'pause') {
      const resumeAfterMs = output.resumeAfterMs ?? undefined;
      const inputSchema = output.inputSchema === undefined || output.inputSchema === null
        ? undefined
        : schemaText(output.inputSchema, 'pause inputSchema');
      return ok({ tag: 'pause', val: { response: jsonText(output.response), resumeAfterMs, inputSchema } });
    }
    return ok({ tag: 'done', val: jsonText(output) });
  } catch (e) {
    return failure(e);
  }
}

function ok(outcome) {
  return { tag: 'ok', val: outcome };
}

function failure(e) {
  if (e instanceof InvalidInput) {
    return { tag: 'err', val: { tag: 'invalid-input', val: e.message } };
  }
  return { tag: 'err', val: { tag: 'failed', val: errorMessage(e) } };
}

function errorMessage(e) {
  if (e instanceof Error) return e.message || e.name || 'Error';
  try {
    return String(e);
  } catch {
    return 'a value that cannot be turned into a string was thrown';
  }
}

/** JSON text of a value; `undefined` (and functions, symbols) become `null`. */
function jsonText(value) {
  const text = JSON.stringify(value);
  return text === undefined ? 'null' : text;
}

function parseJson(text) {
  return text === undefined || text === null ? undefined : JSON.parse(text);
}

// ---------------------------------------------------------------------------
// The context a run gets.

function makeContext(info, env, vars) {
  const log = {
    trace: (message) => hostLog('trace', String(message)),
    debug: (message) => hostLog('debug', String(message)),
    info: (message) => hostLog('info', String(message)),
    warn: (message) => hostLog('warn', String(message)),
    error: (message) => hostLog('error', String(message)),
  };
  return Object.freeze({
    info: Object.freeze({
      executionId: info.executionId,
      workflowId: info.workflowId,
      blockId: info.blockId,
      blockName: info.blockName,
      attempt: info.attempt,
    }),
    resumeInput: parseJson(info.resumeInput),
    env: Object.freeze({
      get: (name) => env.get(String(name)) ?? undefined,
    }),
    variables: Object.freeze({
      get: (name) => parseJson(vars.get(String(name))),
      set: (name, value) => {
        try {
          vars.set(String(name), jsonText(value));
        } catch (e) {
          const reason = e && Object.prototype.hasOwnProperty.call(e, 'payload') ? e.payload : errorMessage(e);
          throw new Error(`variables.set(${JSON.stringify(String(name))}): ${reason}`);
        }
      },
    }),
    log: Object.freeze(log),
    fetch,
    sleep: (ms) => {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new TypeError('sleep(ms): ms must be a non-negative number');
      }
      return hostSleep(BigInt(Math.ceil(ms)));
    },
  });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Synchronous: returns the Response itself (so `await ctx.fetch(...)` works too). */
function fetch(input, init = {}) {
  const url = String(input);
  const method = String(init.method ?? 'GET').toUpperCase();
  const headers = headerPairs(init.headers);
  let body;
  if (init.body !== undefined && init.body !== null) {
    if (typeof init.body === 'string') body = encoder.encode(init.body);
    else if (init.body instanceof ArrayBuffer) body = new Uint8Array(init.body);
    else if (ArrayBuffer.isView(init.body)) {
      body = new Uint8Array(init.body.buffer, init.body.byteOffset, init.body.byteLength);
    } else {
      throw new TypeError('fetch: body must be a string, an ArrayBuffer or a typed array (JSON.stringify objects yourself)');
    }
  }
  let timeoutMs;
  if (init.timeoutMs !== undefined && init.timeoutMs !== null) {
    if (!Number.isFinite(init.timeoutMs) || init.timeoutMs < 0) {
      throw new TypeError('fetch: timeoutMs must be a non-negative number');
    }
    timeoutMs = Math.min(Math.ceil(init.timeoutMs), 0xffffffff);
  }
  let response;
  try {
    response = hostFetch({ method, url, headers, body, timeoutMs });
  } catch (e) {
    if (e && Object.prototype.hasOwnProperty.call(e, 'payload') && e.payload && e.payload.tag) {
      throw new FetchError(e.payload.tag, e.payload.val, url);
    }
    throw e;
  }
  return new Response(url, response.status, response.headers, response.body);
}

function headerPairs(headers) {
  if (headers === undefined || headers === null) return [];
  const pairs = [];
  if (Array.isArray(headers)) {
    for (const pair of headers) pairs.push([String(pair[0]), String(pair[1])]);
  } else if (typeof headers.forEach === 'function' && typeof headers.get === 'function') {
    headers.forEach((value, name) => pairs.push([String(name), String(value)]));
  } else if (typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) pairs.push([name, String(value)]);
    }
  } else {
    throw new TypeError('fetch: headers must be an object, an array of [name, value] pairs or a Headers');
  }
  return pairs;
}

/** The headers of a response: names in lower case, like the web's Headers. */
export class ResponseHeaders {
  #pairs;
  constructor(pairs) {
    this.#pairs = pairs.map(([name, value]) => [name.toLowerCase(), value]);
  }
  get(name) {
    const key = String(name).toLowerCase();
    const values = this.#pairs.filter(([n]) => n === key).map(([, v]) => v);
    return values.length === 0 ? null : values.join(', ');
  }
  /** @internal Every header as received, repeated names included. */
  *rawPairs() {
    yield* this.#pairs;
  }
  getAll(name) {
    const key = String(name).toLowerCase();
    return this.#pairs.filter(([n]) => n === key).map(([, v]) => v);
  }
  has(name) {
    const key = String(name).toLowerCase();
    return this.#pairs.some(([n]) => n === key);
  }
  forEach(callback, thisArg) {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  *entries() {
    const seen = new Set();
    for (const [name] of this.#pairs) {
      if (seen.has(name)) continue;
      seen.add(name);
      yield [name, this.get(name)];
    }
  }
  *keys() {
    for (const [name] of this.entries()) yield name;
  }
  *values() {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  toJSON() {
    return Object.fromEntries(this.entries());
  }
}

/** What `ctx.fetch` returns. Its body methods are synchronous; `await` on them works too. */
export class Response {
  #body;
  constructor(url, status, headers, body) {
    this.url = url;
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.headers = new ResponseHeaders(headers);
    this.#body = body;
  }
  bytes() {
    return new Uint8Array(this.#body);
  }
  arrayBuffer() {
    return this.bytes().buffer;
  }
  text() {
    return decoder.decode(this.#body);
  }
  json() {
    return JSON.parse(this.text());
  }
}

// ---------------------------------------------------------------------------
// The web's global fetch during a run: the same host request as ctx.fetch,
// answered with a web Response (the engine's own fetch needs wasi:http, which
// a block does not get).

async function globalFetch(input, init = {}) {
  let url = input;
  let { method, headers, body } = init;
  if (input !== null && typeof input === 'object' && typeof input.url === 'string' && !(input instanceof URL)) {
    // a Request
    url = input.url;
    method ??= input.method;
    headers ??= input.headers;
    if (body === undefined && input.body) body = await input.arrayBuffer();
  }
  if (init.signal?.aborted) throw init.signal.reason ?? new Error('aborted');
  if (typeof URLSearchParams !== 'undefined' && body instanceof URLSearchParams) {
    const pairs = headerPairs(headers);
    if (!pairs.some(([n]) => n.toLowerCase() === 'content-type')) {
      pairs.push(['content-type', 'application/x-www-form-urlencoded;charset=UTF-8']);
    }
    headers = pairs;
    body = body.toString();
  } else if (typeof Blob !== 'undefined' && body instanceof Blob) {
    body = await body.arrayBuffer();
  }
  const response = fetch(url, { method, headers, body, timeoutMs: init.timeoutMs });
  const WebResponse = globalThis.Response;
  if (typeof WebResponse !== 'function') return response;
  const nullBody = [101, 103, 204, 205, 304].includes(response.status);
  let web;
  try {
    web = new WebResponse(nullBody ? null : response.bytes(), {
      status: response.status,
      headers: [...response.headers.rawPairs()],
    });
  } catch {
    return response; // a status the web's Response refuses (1xx): the SDK's own
  }
  Object.defineProperty(web, 'url', { value: response.url, enumerable: true });
  return web;
}

// ---------------------------------------------------------------------------
// console.* during a run goes to the run's log, and the global fetch to ctx.fetch.

function formatArgs(args) {
  return args.map(formatValue).join(' ');
}

function formatValue(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack ? `${value}\n${value.stack}` : String(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

const CONSOLE_LEVELS = {
  trace: 'trace',
  debug: 'debug',
  log: 'info',
  info: 'info',
  warn: 'warn',
  error: 'error',
};

function redirectGlobals() {
  const savedFetch = globalThis.fetch;
  globalThis.fetch = globalFetch;
  const restoreConsole = redirectConsole();
  return () => {
    globalThis.fetch = savedFetch;
    restoreConsole();
  };
}

function redirectConsole() {
  const target = globalThis.console;
  if (!target) return () => {};
  const saved = {};
  for (const [method, level] of Object.entries(CONSOLE_LEVELS)) {
    saved[method] = target[method];
    try {
      target[method] = (...args) => hostLog(level, formatArgs(args));
    } catch {
      // a read-only console keeps writing to stderr
    }
  }
  return () => {
    for (const [method, fn] of Object.entries(saved)) {
      try {
        target[method] = fn;
      } catch {
        // as above
      }
    }
  };
}
