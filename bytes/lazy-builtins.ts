import { createRequire } from 'node:module';

/**
 * Node built-ins that most runs never need, loaded on first use. A verify of
 * a raw image needs neither: node:zlib (qcow2 clusters, btrfs extents, gzip
 * kernels and config.gz) costs ~2 ms to load and node:crypto (digests,
 * checksummed btrfs superblocks, html's CSP hashes) ~3 ms, with node:stream
 * behind it, and node:child_process (decompressors for initrds) ~3 ms;
 * node:v8 (optimiser-hold.ts) loads node:perf_hooks and node:stream.
 * Importing them at the top of a module would make every start pay. (Not
 * `await import()`: the CLI bundle runs as a vm.Script, which has no
 * dynamic import of built-ins.)
 */
const require = createRequire(import.meta.url);
let zlibModule: typeof import('node:zlib') | undefined;
let cryptoModule: typeof import('node:crypto') | undefined;
let childProcessModule: typeof import('node:child_process') | undefined;
let v8Module: typeof import('node:v8') | undefined;

export function zlib(): typeof import('node:zlib') {
  return (zlibModule ??= require('node:zlib') as typeof import('node:zlib'));
}

/** node:zlib if something has loaded it already, else undefined (without loading it). */
export function loadedZlib(): typeof import('node:zlib') | undefined {
  return zlibModule;
}

export function crypto(): typeof import('node:crypto') {
  return (cryptoModule ??= require('node:crypto') as typeof import('node:crypto'));
}

export function childProcess(): typeof import('node:child_process') {
  return (childProcessModule ??= require('node:child_process') as typeof import('node:child_process'));
}

export function v8(): typeof import('node:v8') {
  return (v8Module ??= require('node:v8') as typeof import('node:v8'));
}
