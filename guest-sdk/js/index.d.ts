// Types of @sandflow/block: write a Sandflow workflow block in TypeScript.

/** A JSON Schema (draft 2020-12), as a plain object. */
export type JsonSchema = boolean | { [keyword: string]: unknown };

/** Any value JSON can carry. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Where and why the block runs. */
export interface BlockInfo {
  readonly executionId: string;
  readonly workflowId: string;
  readonly blockId: string;
  readonly blockName: string;
  /** 1 for the first run of this block in this execution; higher on a retry. */
  readonly attempt: number;
}

/** The block's log. Lines are bounded by the host; a flood stops the block. */
export interface Log {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface FetchInit {
  /** Default `GET`. */
  method?: string;
  headers?: Record<string, string> | Array<[string, string]> | { forEach(cb: (value: string, name: string) => void): void; get(name: string): string | null };
  body?: string | ArrayBuffer | ArrayBufferView;
  /** Capped by the server's maximum and by the run's remaining time. */
  timeoutMs?: number;
}

/** The headers of a response (names in lower case), like the web's `Headers`. */
export declare class ResponseHeaders implements Iterable<[string, string]> {
  /** The value, several joined with `, `; `null` when absent. */
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string): boolean;
  forEach(callback: (value: string, name: string, headers: ResponseHeaders) => void, thisArg?: unknown): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
  /** A plain object `{name: value}`. */
  toJSON(): Record<string, string>;
}

/** What `ctx.fetch` returns. Its body methods are synchronous (awaiting them works too). */
export declare class Response {
  readonly url: string;
  readonly status: number;
  /** `status` is 2xx. */
  readonly ok: boolean;
  readonly headers: ResponseHeaders;
  text(): string;
  json<T = any>(): T;
  arrayBuffer(): ArrayBuffer;
  bytes(): Uint8Array;
}

export type FetchErrorKind = 'refused' | 'invalid-request' | 'timeout' | 'too-large' | 'failed';

/** Thrown by `ctx.fetch` when the host refuses or cannot complete a request. */
export declare class FetchError extends Error {
  readonly kind: FetchErrorKind;
  /** The host's explanation. */
  readonly detail: string;
  readonly url: string;
  constructor(kind: FetchErrorKind, detail: string, url: string);
}

/** Throw it when the params do not fit: the run ends with the block error `invalid-input`. */
export declare class InvalidInput extends Error {
  constructor(message: string);
}

/** What a run can reach: all of it granted by the host for this one run. */
export interface Context<Resume = unknown> {
  readonly info: BlockInfo;
  /** The input sent with a resume, when this run resumes a pause point (parsed). */
  readonly resumeInput: Resume | undefined;
  readonly env: {
    /** An environment variable the workflow granted this block (`env: [...]`); others read as undefined. */
    get(name: string): string | undefined;
  };
  readonly variables: {
    /** A workflow variable (parsed JSON), undefined when unset. */
    get<T = Json>(name: string): T | undefined;
    /** Sets a workflow variable to `value` (JSON-serialised); throws when the host refuses. */
    set(name: string, value: unknown): void;
  };
  readonly log: Log;
  /**
   * One HTTP request through the host, under the server's policy (loopback,
   * private, link-local and metadata addresses are refused unless allow-listed).
   * Synchronous: it returns the Response itself, not a Promise (so `await` on
   * it works, `.then` does not). Throws a `FetchError` when the request fails.
   */
  fetch(url: string | { toString(): string }, init?: FetchInit): Response;
  /**
   * Sleeps `ms` milliseconds in the host without burning fuel. Returns false at
   * once, without sleeping, when the wait is longer than a run may block: pause
   * with `resumeAfterMs` instead.
   */
  sleep(ms: number): boolean;
}

declare const OUTCOME: unique symbol;

/** A routed output: `route(...)`. */
export interface Routed<Output> {
  readonly [OUTCOME]: 'route';
  readonly route: string;
  readonly output: Output;
}

/** A pause request: `pause(...)`. */
export interface Paused {
  readonly [OUTCOME]: 'pause';
  readonly response: unknown;
  readonly resumeAfterMs?: number;
  readonly inputSchema?: JsonSchema;
}

export interface PauseRequest {
  /** Shown to whoever resumes the pause point. */
  response: unknown;
  /** The host resumes the block by itself after this many milliseconds. */
  resumeAfterMs?: number;
  /** A JSON Schema the resume input must match (checked by the host). */
  inputSchema?: JsonSchema;
}

/** What `run` may return: the output itself, a `route(...)` or a `pause(...)`. */
export type RunResult<Output> = Output | Routed<Output> | Paused;

export interface BlockDefinition<Params = any, Output = unknown, Resume = unknown> {
  /** The block's name (its manifest name). */
  name: string;
  /** The block's version, e.g. `0.1.0`. */
  version: string;
  description?: string;
  /** JSON Schema of the params; default `{}` (anything). */
  inputSchema?: JsonSchema;
  /** JSON Schema of the output; default `{}`. */
  outputSchema?: JsonSchema;
  /**
   * One run. Return the output (JSON-serialised; `undefined` becomes `null`),
   * `route(name, output)` or `pause({...})`; throw `InvalidInput` for bad
   * params, anything else to fail. May be `async`: the export drives its
   * promise to completion.
   */
  run(params: Params, ctx: Context<Resume>): RunResult<Output> | Promise<RunResult<Output>>;
}

/** A block, as `defineBlock` returns it: the module's default export. */
export type Block<Params = any, Output = unknown, Resume = unknown> = Readonly<BlockDefinition<Params, Output, Resume>>;

/** Declares a block. Export its result as the module's default export. */
export declare function defineBlock<Params = any, Output = unknown, Resume = unknown>(
  definition: BlockDefinition<Params, Output, Resume>,
): Block<Params, Output, Resume>;

/** Finish and fire only the edges of `name` (`router-<name>`, `condition-<name>`). */
export declare function route<Output>(name: string, output: Output): Routed<Output>;

/** Ask to pause this branch until it is resumed. */
export declare function pause(request: PauseRequest): Paused;
