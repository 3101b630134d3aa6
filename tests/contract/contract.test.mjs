// The API as a contract (make test): web/openapi.json passes Redocly's
// linter; a typed client generated from it (openapi-typescript) type-checks
// the end-to-end story (TypeScript, strict), which then runs against a real
// server with the demo data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../browser/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const doc = join(here, '..', '..', 'web', 'openapi.json');
const bin = (name) => join(here, 'node_modules', '.bin', name);

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: here, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
}

test('the document passes the OpenAPI linter (Redocly, recommended-strict)', () => {
  // any error or warning exits non-zero (recommended-strict), and run() throws
  run(bin('redocly'), ['lint', '--config', 'redocly.yaml', '--format', 'stylish', doc]);
});

test('a client generated from the document carries the story through', async () => {
  mkdirSync(join(here, 'generated'), { recursive: true });
  run(bin('openapi-typescript'), [doc, '-o', join(here, 'generated', 'api.d.ts')]);
  run(bin('tsc'), ['-p', 'tsconfig.json']);          // the story type-checks against it
  const { story } = await import(join(here, 'generated', 'js', 'story.js'));
  const srv = await startServer();
  try {
    const steps = await story(srv.url, `ada-${Date.now()}@contract.example`);
    assert.equal(steps.length, 4, steps.join('\n'));
    assert.match(steps[3], /the admin sees Ada Contract and the usual Flat White/);
  } finally {
    await srv.stop();
  }
});
