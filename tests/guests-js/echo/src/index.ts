import { defineBlock } from '@sandflow/block';

// Returns its params unchanged: the trivial block, for benchmarks.
export default defineBlock({
  name: 'echo-js',
  version: '0.1.0',
  description: 'Returns its params',
  run(params: unknown) {
    return params;
  },
});
