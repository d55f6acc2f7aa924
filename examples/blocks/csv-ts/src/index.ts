import { defineBlock, InvalidInput } from '@sandflow/block';
import { parse } from 'csv-parse/sync';

interface Params {
  /** The CSV text; its first line names the columns. */
  text: string;
  /** The field separator; default `,`. */
  delimiter?: string;
}

interface Parsed {
  rows: Record<string, string>[];
  count: number;
}

export default defineBlock<Params, Parsed>({
  name: 'csv-parse',
  version: '0.1.0',
  description: 'Parses CSV text into rows (objects keyed by the header line)',
  inputSchema: {
    type: 'object',
    properties: {
      text: { type: 'string' },
      delimiter: { type: 'string', minLength: 1 },
    },
    required: ['text'],
  },
  outputSchema: {
    type: 'object',
    properties: {
      rows: { type: 'array', items: { type: 'object', additionalProperties: { type: 'string' } } },
      count: { type: 'integer' },
    },
    required: ['rows', 'count'],
  },
  run(params, ctx) {
    if (typeof params.text !== 'string') throw new InvalidInput('text: must be a string');
    let rows: Record<string, string>[];
    try {
      rows = parse(params.text, {
        columns: true,
        delimiter: params.delimiter ?? ',',
        skip_empty_lines: true,
        trim: true,
      });
    } catch (e) {
      throw new InvalidInput(`text: not CSV: ${(e as Error).message}`);
    }
    ctx.log.info(`parsed ${rows.length} rows`);
    return { rows, count: rows.length };
  },
});
