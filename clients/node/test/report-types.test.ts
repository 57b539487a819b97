// The report's TypeScript types are generated from docs/report.schema.json; this fails when the
// committed types and the schema disagree (run `npm run gen:report-types` after changing the
// schema). Every real report the other tests see is validated against the schema itself
// (helpers.assertSchemaValid), so the schema, the types and the binary are checked together.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('src/report.generated.ts is what the schema generates', async () => {
  const generator = new URL('../../scripts/gen-report-types.mjs', import.meta.url).href;
  const { generate, outputPath } = (await import(generator)) as { generate(): Promise<string>; outputPath: string };
  const committed = readFileSync(outputPath, 'utf8');
  assert.equal(committed, await generate(), 'src/report.generated.ts is out of date: run `npm run gen:report-types`');
});

test('the generated types name every top-level key the schema requires', () => {
  const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../docs/report.schema.json', import.meta.url)), 'utf8')) as {
    required: string[];
  };
  const types = readFileSync(fileURLToPath(new URL('../../src/report.generated.ts', import.meta.url)), 'utf8');
  for (const key of schema.required) assert.match(types, new RegExp(`^  ${key}:`, 'm'), key);
});
