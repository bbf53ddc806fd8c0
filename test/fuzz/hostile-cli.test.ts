import t from 'tap';
import { closeSync, cpSync, ftruncateSync, mkdtempSync, openSync, appendFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmspec, type CliRun } from '../cli/cli-runner.js';
import { repoRoot } from '../fixtures/cache.js';
import { gptOnePartition } from '../fixtures/disk-builder.js';
import { sealTarHeader, tarOf } from './tar-writer.js';

/**
 * Hostile inputs through the built CLI, as a user meets them: spec and
 * waiver YAML (alias bombs, huge documents, deep nesting, duplicate and
 * non-string keys, !!js/function tags), results files for `report render`,
 * and evidence tars (absolute paths, "..", escaping links, hard links,
 * devices, duplicates, oversize members and total size). Each must stop
 * with exit 2, one clear message naming the file and where, and no stack
 * trace. The parsers' own tests cover the details; these cover the route
 * to the user. Needs `npm run build`.
 */

const work = mkdtempSync(join(tmpdir(), 'vmspec-hostile-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const p = (name: string): string => join(work, name);
const image = gptOnePartition();

/** Exit 2, the pattern on stderr, no stack frames, no "undefined". */
function refused(t: Tap, r: CliRun, pattern: RegExp, what: string): void {
  t.equal(r.status, 2, `${what}: exit 2`, { stderr: r.stderr.slice(0, 2000) });
  t.match(r.stderr, pattern, `${what}: says what and where`);
  t.notMatch(r.stderr, /\n\s+at [^\n]*:\d+:\d+/, `${what}: no stack trace`);
  t.notMatch(r.stderr, /\bundefined\b|\[object /, `${what}: no missing values in the message`);
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** YAML documents every YAML reader in vmspec must refuse. Each: [name, text appended to a valid document, expected message]. */
const BILLION_LAUGHS = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 11 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`)].join('\n');
const HOSTILE_YAML: [string, string, RegExp][] = [
  ['alias bomb', `\nbomb:\n${BILLION_LAUGHS.replace(/^/gm, '  ')}\n`, /:\d+:\d+: .*alias/i],
  ['duplicate key', '\nid: again\n', /:\d+:\d+: Map keys must be unique/],
  ['!!js/function tag', '\nevil: !!js/function "function(){ return 1 }"\n', /:\d+:\d+: .*tag.*js\/function/],
  ['non-string key', '\n? [a, b]\n: complex\n', /:\d+:\d+: mapping key is a collection; keys must be plain strings/],
  ['huge document', `\n# ${'x'.repeat(3 * 1024 * 1024)}\n`, /:\d+:\d+: file is larger than/],
  ['nesting 200 deep', `\nnest: ${'['.repeat(200)}${']'.repeat(200)}\n`, /:\d+:\d+: .*(nest|deep)/i],
];

t.test('spec files: verify --spec DIR refuses hostile YAML', async (t) => {
  for (const [name, text, pattern] of HOSTILE_YAML) {
    const dir = p(`spec-${name.replace(/\W+/g, '-')}`);
    cpSync(join(repoRoot, 'spec', 'vmspec-v2'), dir, { recursive: true });
    appendFileSync(join(dir, 'spec.yaml'), text);
    refused(t, vmspec(['verify', image, '--spec', dir]), new RegExp(`spec\\.yaml${pattern.source}`, pattern.flags), `spec: ${name}`);
    // Lint reports the same problem as a finding (exit 1: "problems found"), never a crash.
    const lint = vmspec(['spec', 'lint', dir]);
    t.equal(lint.status, 1, `spec lint: ${name}: exit 1 (problems found)`);
    t.match(lint.stdout + lint.stderr, pattern, `spec lint: ${name}: the same message`);
  }
});

t.test('waivers: verify --waivers refuses hostile YAML', async (t) => {
  for (const [name, text, pattern] of HOSTILE_YAML) {
    const file = p(`waivers-${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, `waivers: []\n${text.replace(/^\nid: again\n$/, '\nwaivers: []\n')}`);
    refused(t, vmspec(['verify', image, '--waivers', file]), new RegExp(`the waivers file has errors:[\\s\\S]*waivers-[^:]*\\.yaml${pattern.source}`, pattern.flags), `waivers: ${name}`);
  }
});

t.test('YAML nested thousands deep: a message, not the parser\'s stack overflow', async (t) => {
  for (const [name, deep] of [['flow', `\nnest: ${'['.repeat(5000)}${']'.repeat(5000)}\n`], ['block', `\nnest:\n  ${'- '.repeat(20000)}x\n`]]) {
    const dir = p(`spec-deep-${name}`);
    cpSync(join(repoRoot, 'spec', 'vmspec-v2'), dir, { recursive: true });
    appendFileSync(join(dir, 'spec.yaml'), deep!);
    const r = vmspec(['verify', image, '--spec', dir]);
    refused(t, r, /spec\.yaml:\d+:\d+: .*nesting .*(deeper than|too deep).*flatten/i, `spec nested 5000+ deep (${name})`);
    t.notMatch(r.stderr, /call stack/, 'the library\'s stack overflow does not leak');
  }
});

t.test('results files: report render refuses malformed, schema-invalid and huge input', async (t) => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['truncated JSON', '{"tool": ', /truncated-JSON\.json:\d+:\d+: not valid JSON/],
    ['binary junk', Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), /binary-junk\.json:\d+:\d+: not valid JSON/],
    ['a JSON array', '[]', /a-JSON-array\.json is not a vmspec results file[\s\S]*the document: must be object/],
    ['deeply nested array', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, /deeply-nested-array\.json is not a vmspec results file/],
    ['wrong types', '{"tool":"vmspec","results":"nope"}', /wrong-types\.json is not a vmspec results file[\s\S]*missing required field "schemaVersion"[\s\S]*results: must be array/],
  ];
  for (const [name, content, pattern] of cases) {
    const file = p(`${name.replace(/\W+/g, '-')}.json`);
    writeFileSync(file, content);
    refused(t, vmspec(['report', 'render', file, '--format', 'md']), pattern, `results: ${name}`);
  }
  // Over the size limit: a sparse file, so the test writes nothing.
  const huge = p('huge.json');
  const fd = openSync(huge, 'w');
  ftruncateSync(fd, 300 * 1024 * 1024);
  closeSync(fd);
  refused(t, vmspec(['report', 'render', huge]), /huge\.json: \d+ bytes is larger than the \d+-byte limit for a results file/, 'results: 300 MiB');
});

t.test('evidence tars: hostile members refuse the whole bundle', async (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['absolute path', tarOf([{ name: '/etc/passwd', data: 'root' }]), /tar member at offset 0: member name "\/etc\/passwd" is absolute: refused/],
    ['".." path', tarOf([{ name: 'sys/../../etc/shadow', data: 'x' }]), /tar member at offset 0: member name "sys\/\.\.\/\.\.\/etc\/shadow" contains "\.\.": refused/],
    ['member below a symlink to /', tarOf([{ name: 'sys', type: '2', linkname: '/' }, { name: 'sys/firmware/fdt', data: 'x' }]), /tar member at offset 512: "sys\/firmware\/fdt" is below "sys", which is a symlink: refused/],
    ['hard link out of the bundle', tarOf([{ name: 'h', type: '1', linkname: '../../etc/shadow' }]), /hard link "h" -> "\.\.\/\.\.\/etc\/shadow" points outside the bundle: refused/],
    ['block device', tarOf([{ name: 'dev/sda', type: '4' }]), /"dev\/sda" is a device node: refused/],
    ['fifo', tarOf([{ name: 'run/fifo', type: '6' }]), /"run\/fifo" is a fifo: refused/],
    ['duplicate names', tarOf([{ name: 'proc/cmdline', data: 'a' }, { name: './proc/cmdline', data: 'b' }]), /tar member at offset 1024: duplicate member "proc\/cmdline": refused/],
    ['oversize member', tarOf([{ name: 'big', data: 'x', sizeField: 100 * 1024 * 1024 }]), /"big" is 104857600 bytes, over the 67108864-byte cap/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const file = p(`${name.replace(/\W+/g, '-')}.tar`);
    writeFileSync(file, bytes);
    refused(t, vmspec(['verify', '--evidence', file]), pattern, `tar: ${name}`);
  }
  // Members totalling more than 1 GiB: 17 × 64 MiB, sparse on disk.
  const total = p('total.tar');
  const fd = openSync(total, 'w');
  const member = 64 * 1024 * 1024;
  for (let i = 0, off = 0; i < 17; i++, off += 512 + member) {
    const h = tarOf([{ name: `f${i}`, sizeField: member }]).subarray(0, 512).slice();
    sealTarHeader(h, 0);
    writeSync(fd, h, 0, 512, off);
    if (i === 16) ftruncateSync(fd, off + 512 + member + 1024);
  }
  closeSync(fd);
  refused(t, vmspec(['verify', '--evidence', total]), /tar archive at offset \d+: members total more than 1073741824 bytes/, 'tar: total size');
});

t.test('a symlink climbing out of the bundle errors the clauses that read through it, and reads nothing outside', async (t) => {
  const file = p('symlink-up.tar');
  writeFileSync(file, tarOf([{ name: 'proc', type: '5' }, { name: 'proc/cmdline', type: '2', linkname: '../../../etc/passwd' }]));
  const r = vmspec(['verify', '--evidence', file]);
  t.not(r.status, 0, 'not a passing run');
  t.match(r.stdout, /ERROR .*symlink in "\/proc\/cmdline" points above the bundle root: refused/, 'each affected clause is an error naming the link');
  t.notMatch(r.stdout, /root:x:0:0/, 'the host\'s /etc/passwd is never read');
});
