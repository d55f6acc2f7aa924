import { defineBlock, InvalidInput } from '@sandflow/block';

// A block that misbehaves on request: each `attack` is one thing an untrusted
// JavaScript block might try. The host must contain every one of them.
type Attack =
  | { attack: 'echo'; value: unknown } // behave: return `value`
  | { attack: 'spin' } // loop forever
  | { attack: 'memory_bomb' } // allocate and touch memory without end
  | { attack: 'recurse' } // recurse without end
  | { attack: 'read_env'; name: string } // read a variable through the env handle and through the process
  | { attack: 'fetch'; url: string } // fetch a URL (a refused fetch fails the run)
  | { attack: 'log_flood' } // log forever
  | { attack: 'never_settles' }; // return a promise that never settles

declare const process: { env?: Record<string, string | undefined> } | undefined;

function recurse(depth: number): number {
  return recurse(depth + 1) + 1;
}

export default defineBlock<Attack>({
  name: 'hostile-js',
  version: '0.1.0',
  description: 'Misbehaves on request, for the hostile-guest suite',
  inputSchema: {
    type: 'object',
    properties: { attack: { type: 'string' } },
    required: ['attack'],
  },
  run(params, ctx) {
    switch (params.attack) {
      case 'echo':
        return params.value;
      case 'spin': {
        let n = 0;
        for (;;) n = (n + 1) | 0;
      }
      case 'memory_bomb': {
        const hoard: Uint8Array[] = [];
        for (;;) {
          const chunk = new Uint8Array(1 << 20);
          chunk.fill(0xab);
          hoard.push(chunk);
        }
      }
      case 'recurse':
        return recurse(0);
      case 'read_env':
        return {
          granted: ctx.env.get(params.name) ?? null,
          wasi: (typeof process === 'undefined' ? undefined : process?.env?.[params.name]) ?? null,
          hasProcess: typeof process !== 'undefined',
        };
      case 'fetch': {
        const response = ctx.fetch(params.url);
        return { status: response.status, body: response.text().slice(0, 200) };
      }
      case 'log_flood':
        for (;;) ctx.log.info('flood '.repeat(100));
      case 'never_settles':
        return new Promise(() => {});
      default:
        throw new InvalidInput(`unknown attack ${JSON.stringify((params as { attack?: unknown }).attack)}`);
    }
  },
});
