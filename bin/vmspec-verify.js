#!/usr/bin/env node
// Compatibility alias: `vmspec-verify ARGS` is `vmspec verify ARGS` (the original tool's name).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/bundle/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('vmspec-verify: not built yet: run `npm ci && npm run build` in the vmspec directory\n');
  process.exit(2);
}
const { main } = await import(entry.href);
await main([process.argv[0], process.argv[1], 'verify', ...process.argv.slice(2)]);
