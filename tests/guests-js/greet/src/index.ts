import { defineBlock, InvalidInput } from '@sandflow/block';

interface Params {
  name: string;
}

interface Greeting {
  text: string;
}

export default defineBlock<Params, Greeting>({
  name: 'greet',
  version: '0.1.0',
  description: 'Says hello',
  inputSchema: {
    type: 'object',
    properties: { name: { type: 'string' } },
    required: ['name'],
  },
  outputSchema: {
    type: 'object',
    properties: { text: { type: 'string' } },
    required: ['text'],
  },
  run(params, ctx) {
    if (!params.name) throw new InvalidInput('name: must not be empty');
    ctx.log.info(`greeting ${params.name}`);
    return { text: `Hello, ${params.name}!` };
  },
});
