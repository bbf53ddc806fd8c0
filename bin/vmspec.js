#!/usr/bin/env node
// The vmspec CLI. Runs the bundle `npm run build` writes to dist/bundle/ (build/bundle.ts).
import { existsSync, readFileSync } from 'node:fs';
const entry = new URL('../dist/bundle/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('vmspec: not built yet: run `npm ci && npm run build` in the vmspec directory\n');
  process.exit(2);
}
// `vmspec --version` alone answers without loading the CLI (what commander would print, from the
// same package.json as package/version.ts): the bundle would cost a bare start's time again.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  process.exit(0);
}
const { main } = await import(entry.href);
await main(process.argv);
