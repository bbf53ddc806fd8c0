#!/usr/bin/env node
// The vmspec CLI. Runs the bundle `npm run build` writes to dist/bundle/ (build/bundle.ts).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/bundle/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('vmspec: not built yet: run `npm ci && npm run build` in the vmspec directory\n');
  process.exit(2);
}
const { main } = await import(entry.href);
await main(process.argv);
