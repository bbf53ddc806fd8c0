import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintSpec } from '../../requirements/lint.js';
import { specRoot } from '../../package/paths.js';

for (const name of ['vmspec-v2', 'vmspec-v1']) {
  t.test(`${name} lints clean`, async (t) => {
    const { spec, issues } = lintSpec(join(specRoot, name));
    t.same(issues.map((i) => `${i.file}:${i.line}: ${i.message}`), []);
    t.ok(spec && spec.requirements.length > 20, 'has requirements');
  });
}

/** A copy of v2 with one edit applied to one file. */
function seeded(t: { teardown: (fn: () => void) => void }, file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-lint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(specRoot, 'vmspec-v2'), dir, { recursive: true });
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`seed did not change ${file}`);
  writeFileSync(path, after);
  return dir;
}

function lineOf(dir: string, file: string, needle: string): number {
  return readFileSync(join(dir, file), 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
}

const IMG = '02-vm-image-format.yaml';

t.test('seeded mistakes are caught with file:line and a plain reason', async (t) => {
  const cases: { name: string; file: string; edit: (s: string) => string; needle: string; message: RegExp }[] = [
    { name: 'unknown field', file: IMG, edit: (s) => s.replace('    title: Disk is partitioned with GPT', '    title: Disk is partitioned with GPT\n    severity: high'), needle: 'severity: high', message: /unknown field "severity"/ },
    { name: 'bad level', file: IMG, edit: (s) => s.replace(/level: MUST\n    target: image\n    title: Disk is partitioned/, 'level: MUSTN\'T\n    target: image\n    title: Disk is partitioned'), needle: "MUSTN'T", message: /level/ },
    { name: 'duplicate id', file: IMG, edit: (s) => s.replace('id: V2-IMG-GPT-BACKUP', 'id: V2-IMG-GPT # dup'), needle: 'V2-IMG-GPT # dup', message: /duplicate id/ },
    { name: 'unknown probe', file: IMG, edit: (s) => s.replace('probe: image.esp\n', 'probe: image.espp\n'), needle: 'image.espp', message: /unknown probe "image.espp"/ },
    { name: 'fact the probe cannot produce', file: IMG, edit: (s) => s.replace('fact: filesystem.type', 'fact: filesystem.kind'), needle: 'filesystem.kind', message: /fact "filesystem.kind" is not produced by probe image.esp/ },
    { name: 'invalid params', file: IMG, edit: (s) => s.replace("params: { path: '\\EFI\\BOOT\\BOOTARM.EFI' }\n    when", 'params: { pth: 1 }\n    when'), needle: 'pth: 1', message: /params/ },
    { name: 'both manual and probe', file: '01-arm-server-architecture.yaml', edit: (s) => s.replace('\n    manual:', '\n    probe: image.esp\n    manual:'), needle: 'probe: image.esp', message: /either "probe" and "expect".*or "manual"/ },
    { name: 'expectation with two operators', file: IMG, edit: (s) => s.replace('      - fact: gpt.present\n        equals: true\n      - fact: gpt.primary', '      - fact: gpt.present\n        equals: true\n        exists: true\n      - fact: gpt.primary'), needle: 'fact: gpt.present', message: /exactly one operator|more than|maxProperties|must NOT have more/ },
    { name: 'bad regex', file: IMG, edit: (s) => s.replace("        oneOf: [raw, qcow2]", "        matches: '(raw'"), needle: "(raw", message: /invalid regular expression/ },
    { name: 'label not in index', file: IMG, edit: (s) => s.replace('ref: { label: IMG-1 }', 'ref: { label: IMG-99 }'), needle: 'IMG-99', message: /IMG-99 is not in the spec index|IMG-1 is listed in labels but no requirement cites it/ },
  ];
  for (const c of cases) {
    const dir = seeded(t, c.file, c.edit);
    const { issues } = lintSpec(dir);
    const hit = issues.find((i) => c.message.test(i.message));
    t.ok(hit, `${c.name}: reported (got: ${issues.map((i) => i.message).join(' | ')})`);
    if (!hit) continue;
    t.match(hit.file, c.file === 'spec.yaml' ? /spec\.yaml$/ : new RegExp(`${c.file.replace('.', '\\.')}$`), `${c.name}: names the file`);
    const want = lineOf(dir, c.file, c.needle.split('\n')[0]!);
    // The message points at the offending line or the requirement that holds it.
    t.ok(hit.line > 0 && hit.line <= want && want - hit.line < 40, `${c.name}: line ${hit.line} near ${want}`);
  }
});

t.test('a label nobody cites is reported', async (t) => {
  const dir = seeded(t, 'spec.yaml', (s) => s.replace('GUEST-5]', 'GUEST-5, GUEST-6]'));
  const { issues } = lintSpec(dir);
  t.ok(issues.some((i) => /GUEST-6 is listed in labels but no requirement cites it/.test(i.message)));
});

t.test('YAML syntax errors stop with a location', async (t) => {
  const dir = seeded(t, IMG, (s) => s.replace('section: VM Image Format', 'section: [VM Image Format'));
  const { issues } = lintSpec(dir);
  t.ok(issues.length > 0);
  t.match(issues[0]!.file, /02-vm-image-format\.yaml$/);
});
