import { defineBlock, route, FetchError, InvalidInput } from '@sandflow/block';

interface Params {
  url: string;
}

interface Status {
  status: number | null;
  contentType: string | null;
  problem?: string;
}

// Routes `up` (2xx), `down` (any other status) or `unreachable` (the request
// failed or the server's policy refused it), and remembers the last status in
// the workflow variable `lastStatus`.
export default defineBlock<Params, Status>({
  name: 'status-check',
  version: '0.1.0',
  description: 'Fetches a URL and routes on its status',
  inputSchema: {
    type: 'object',
    properties: { url: { type: 'string' } },
    required: ['url'],
  },
  async run({ url }, ctx) {
    if (!/^https?:\/\//.test(url)) throw new InvalidInput('url: must start with http:// or https://');
    try {
      const response = await ctx.fetch(url, { headers: { accept: 'text/html' }, timeoutMs: 5000 });
      ctx.variables.set('lastStatus', response.status);
      const out = { status: response.status, contentType: response.headers.get('content-type') };
      return route(response.ok ? 'up' : 'down', out);
    } catch (e) {
      if (!(e instanceof FetchError)) throw e;
      console.warn(`${url}: ${e.kind}: ${e.detail}`);
      return route('unreachable', { status: null, contentType: null, problem: e.kind });
    }
  },
});
