/**
 * `npm run bench [-- [--rounds N] [NAME...]]`: runs every bench/NAME.bench.ts
 * (or the ones named) in name order and prints one Markdown table of
 * measured times, ratios and targets. Progress goes to stderr.
 */
import { readdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesRatioOf, isTiming, ratioOf, verdictOf, type Bench, type Measurement, type Row, type Target, type Unavailable } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv: string[]): { rounds: number; names: string[] } {
  let rounds = 10;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rounds') {
      rounds = Number(argv[++i]);
      if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a positive whole number');
    } else names.push(a);
  }
  return { rounds, names };
}

function ms(m: Measurement): string {
  if (!isTiming(m)) return `not available here: ${m.unavailable}`;
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  return `${f(m.medianMs)} ms (min ${f(m.minMs)})`;
}

function bytes(b: number | Unavailable | undefined): string {
  if (b === undefined) return '';
  if (typeof b !== 'number') return `n/a (${b.unavailable})`;
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(1)} MiB`;
}

function targetText(t: Target): string {
  if (t.kind === 'ratio') return `≤ ${t.max}×`;
  if (t.kind === 'absolute') return t.maxMs >= 1000 ? `< ${t.maxMs / 1000} s` : `< ${t.maxMs} ms`;
  if (t.kind === 'bytes-ratio') return `bytes read ≤ ${t.max}× ${t.baseline}`;
  return '—';
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

function table(rows: Row[]): string {
  const head = ['what', 'vmspec', 'peer', 'peer time', 'ratio', 'target', 'result', 'bytes read (vmspec / peer)'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const ratio = ratioOf(r);
    const br = bytesRatioOf(r);
    const b = (r.bytesRead ? [bytes(r.bytesRead.vmspec), bytes(r.bytesRead.peer)].filter(Boolean).join(' / ') : '')
      + (r.target.kind === 'bytes-ratio' && br !== undefined ? ` (${br.toFixed(2)}×)` : '');
    lines.push(`| ${[
      r.what + (r.note ? ` (${r.note})` : ''),
      ms(r.vmspec),
      r.peer?.name ?? '—',
      r.peer ? ms(r.peer.result) : '—',
      ratio === undefined ? '—' : `${ratio.toFixed(2)}×`,
      targetText(r.target),
      verdictOf(r),
      b,
    ].map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

const { rounds, names } = parseArgs(process.argv.slice(2));
const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort()
  .filter((f) => !names.length || names.includes(basename(f, '.bench.ts')));
if (!files.length) throw new Error(`no bench matches ${names.join(', ')} (files: bench/*.bench.ts)`);

const log = (m: string) => process.stderr.write(`bench: ${m}\n`);
const all: Row[] = [];
const started = new Date();
for (const f of files) {
  const bench = (await import(join(here, f))).default as Bench;
  log(`${bench.title} (${f})`);
  all.push(...(await bench.run({ rounds, log })));
}

const cpu = cpus();
process.stdout.write(`${table(all)}\n\n`);
process.stdout.write(`${started.toISOString()}, ${rounds} rounds, ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
