#!/usr/bin/env node
// Compatibility alias: `vmspec-boot ARGS` is `vmspec boot ARGS` (the original tool's name).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/bundle/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('vmspec-boot: not built yet: run `npm ci && npm run build` in the vmspec directory\n');
  process.exit(2);
}
const { main } = await import(entry.href);
await main([process.argv[0], process.argv[1], 'boot', ...process.argv.slice(2)]);
