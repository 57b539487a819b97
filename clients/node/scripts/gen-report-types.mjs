// Generates src/report.generated.ts, the TypeScript types of confine's run report, from the
// schema that documents it (docs/report.schema.json at the root of the repository).
//
//   node scripts/gen-report-types.mjs          write src/report.generated.ts
//   node scripts/gen-report-types.mjs --check  exit 1 when the committed file differs
//
// The test suite runs the check too (test/report-types.test.ts), so types and schema cannot
// drift apart unnoticed.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
export const schemaPath = here('../../../docs/report.schema.json');
export const outputPath = here('../src/report.generated.ts');

export async function generate() {
  const schema = JSON.parse(await readFile(schemaPath, 'utf8'));
  const banner = [
    '/* eslint-disable */',
    '// Generated from docs/report.schema.json by scripts/gen-report-types.mjs. Do not edit:',
    '// change the schema and run `npm run gen:report-types`.',
  ].join('\n');
  return compile(schema, 'Report', {
    bannerComment: banner,
    additionalProperties: false,
    strictIndexSignatures: true,
    format: true,
    style: { singleQuote: true, printWidth: 100 },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await generate();
  if (process.argv.includes('--check')) {
    const current = await readFile(outputPath, 'utf8').catch(() => '');
    if (current !== text) {
      console.error('src/report.generated.ts is out of date with docs/report.schema.json: run `npm run gen:report-types`');
      process.exit(1);
    }
  } else {
    await writeFile(outputPath, text);
    console.log(`wrote ${outputPath}`);
  }
}
