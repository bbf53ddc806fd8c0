import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedError } from '../../../bytes/errors.js';
import { findReference, loadReferences, obtainRequestFor, parseReferences, ReferencesError, REFERENCES_FILE, type Reference } from '../../../boot/obtain/references.js';
import { urlFileName } from '../../../boot/obtain/image-name.js';

function issuesOf(text: string): { line: number; column: number; message: string }[] {
  try {
    parseReferences(text, 'refs.yaml');
  } catch (e) {
    if (e instanceof ReferencesError) return e.issues;
    throw e;
  }
  t.fail('expected a ReferencesError');
  return [];
}

const builtin = `  - name: builtin
    description: local
    kind: builtin
    format: raw
    cloudInit: false
    arch: aarch64
    notes: ""
`;

t.test('the shipped catalogue validates and holds the five references', async (t) => {
  const refs = loadReferences();
  t.same(refs.map((r) => r.name), ['builtin', 'debian-12', 'ubuntu-24.04', 'fedora-42', 'centos-stream-9']);
  t.ok(refs.every((r) => r.arch === 'aarch64'));
  t.ok(REFERENCES_FILE.endsWith(join('boot', 'references.yaml')));
});

t.test('every download entry is well formed: https image URL naming a file, a checksum source, a known format', async (t) => {
  for (const r of loadReferences()) {
    t.ok(r.description.length > 0 && r.notes.length > 0, `${r.name}: description and notes`);
    t.ok(r.source.line > 1, `${r.name}: knows its line`);
    if (r.kind === 'builtin') {
      t.equal(r.format, 'raw', 'the built reference is a raw disk');
      t.equal(r.cloudInit, false);
      t.notOk('url' in r, 'builtin has no URL');
      continue;
    }
    const url = new URL(r.url);
    t.equal(url.protocol, 'https:', `${r.name}: https`);
    const name = urlFileName(url);
    t.match(name, /aarch64|arm64/, `${r.name}: the file is an arm64 build`);
    t.ok(r.sha256 !== undefined || r.sha512 !== undefined || r.sums !== undefined, `${r.name}: has a checksum source`);
    if (r.sums) {
      const sums = new URL(r.sums.url);
      t.equal(sums.protocol, 'https:');
      t.equal(sums.host, url.host, `${r.name}: the checksum list is on the image's host`);
      t.equal(sums.pathname.slice(0, sums.pathname.lastIndexOf('/')), url.pathname.slice(0, url.pathname.lastIndexOf('/')), `${r.name}: beside the image`);
    }
    t.equal(r.cloudInit, true, `${r.name}: cloud images run cloud-init`);
    t.equal(r.format, 'qcow2');
    const req = obtainRequestFor(r);
    t.equal(req.source, r.url);
    if (r.sums) t.same([req.sumsUrl, req.sumsAlgorithm], [r.sums.url, r.sums.algorithm]);
  }
});

t.test('the catalogue uses each publisher\'s own checksum list', async (t) => {
  const byName = new Map(loadReferences().map((r) => [r.name, r] as const));
  const dl = (n: string) => byName.get(n) as Extract<Reference, { kind: 'download' }>;
  t.match(dl('debian-12').sums, { url: /cloud\.debian\.org\/.*\/SHA512SUMS$/, algorithm: 'sha512' });
  t.match(dl('ubuntu-24.04').sums, { url: /cloud-images\.ubuntu\.com\/.*\/SHA256SUMS$/, algorithm: 'sha256' });
  t.match(dl('fedora-42').sums, { url: /-CHECKSUM$/, algorithm: 'sha256' });
  t.match(dl('fedora-42').sha256, /^[0-9a-f]{64}$/, 'the fixed Fedora release is pinned too');
  t.match(dl('centos-stream-9').sums, { url: /\/CHECKSUM$/, algorithm: 'sha256' });
});

t.test('findReference finds by name and lists the known names otherwise', async (t) => {
  t.equal(findReference('debian-12').kind, 'download');
  t.equal(findReference('builtin').kind, 'builtin');
  const err = t.throws(() => findReference('debian-13')) as UnsupportedError;
  t.type(err, UnsupportedError);
  t.match(err.message, /unknown reference "debian-13".*did you mean "debian-12"/);
  t.match(err.hint, /known references: builtin, debian-12, ubuntu-24.04, fedora-42, centos-stream-9/);
  t.match((t.throws(() => findReference('')) as UnsupportedError).hint, /known references:/);
});

t.test('a YAML syntax error is reported with file:line', async (t) => {
  const [i] = issuesOf(`references:\n${builtin}    kind: download\n`);
  t.match(i, { line: 9, message: /unique|duplicate/i }, 'a duplicate key, at its line');
  const [j] = issuesOf(`references:\n${builtin}    notes: "unterminated\n`);
  t.ok(j && j.line >= 9, 'an unterminated string, at or after its line');
  const err = t.throws(() => parseReferences(`references:\n  - name: x\n   bad: indent\n`, 'refs.yaml')) as ReferencesError;
  t.match(err.message, /refs\.yaml:\d+:\d+: /);
});

t.test('schema problems point at the offending line', async (t) => {
  const unknownField = issuesOf(`references:\n${builtin}    colour: blue\n`);
  t.match(unknownField, [{ line: 9, message: /unknown field "colour"/ }]);
  const badFormat = issuesOf(`references:\n${builtin.replace('format: raw', 'format: vmdk')}`);
  t.match(badFormat, [{ line: 5, message: /references\.0\.format: must be one of "raw", "qcow2"/ }]);
  const badArch = issuesOf(`references:\n${builtin.replace('arch: aarch64', 'arch: x86_64')}`);
  t.match(badArch, [{ line: 7, message: /must be "aarch64"/ }]);
  const badName = issuesOf(`references:\n${builtin.replace('name: builtin', 'name: "../etc"')}`);
  t.match(badName, [{ line: 2, message: /references\.0\.name/ }]);
});

t.test('kind rules: download needs a url and a checksum; builtin takes neither', async (t) => {
  const download = (extra: string) => `references:\n  - name: d\n    description: d\n    kind: download\n    format: qcow2\n    cloudInit: true\n    arch: aarch64\n    notes: n\n${extra}`;
  t.match(issuesOf(download('    url: https://example.org/d.qcow2\n')), [{ line: 2, message: /needs a checksum: sha256, sha512 or sums/ }]);
  t.match(issuesOf(download('    sha256: ' + 'a'.repeat(64) + '\n')), [{ message: /needs a url/ }]);
  t.match(issuesOf(download('    url: http://example.org/d.qcow2\n    sha256: ' + 'a'.repeat(64) + '\n')), [{ line: 9, message: /references\.0\.url/ }], 'plain http refused');
  t.match(issuesOf(download('    url: https://example.org/images/\n    sha256: ' + 'a'.repeat(64) + '\n')), [{ line: 9 }], 'a directory URL refused');
  t.match(issuesOf(download('    url: https://example.org/d.qcow2\n    sha256: ' + 'A'.repeat(64) + '\n')), [{ line: 10, message: /sha256/ }], 'digests are lower-case hex');
  t.match(issuesOf(download('    url: https://example.org/d.qcow2\n    sums: {url: https://example.org/SUMS, algorithm: md5}\n')), [{ line: 10, message: /algorithm: must be one of "sha256", "sha512"/ }]);
  t.match(issuesOf(`references:\n${builtin}    url: https://example.org/x.img\n`), [{ line: 9, message: /builtin reference is built locally: it takes no url/ }]);
  const ok = parseReferences(download('    url: https://example.org/d.qcow2\n    sums: {url: https://example.org/SUMS, algorithm: sha256}\n'), 'refs.yaml');
  t.match(ok[0], { name: 'd', kind: 'download', sums: { algorithm: 'sha256' }, source: { file: 'refs.yaml', line: 2 } });
});

t.test('duplicate names, blank descriptions and empty files are refused', async (t) => {
  t.match(issuesOf(`references:\n${builtin}${builtin}`), [{ line: 9, message: /"builtin" is already used by references\.0/ }]);
  t.match(issuesOf(`references:\n${builtin.replace('description: local', 'description: "  "')}`), [{ line: 3, message: /must not be blank/ }]);
  t.match(issuesOf(''), [{ line: 1, message: /empty/ }]);
  t.match(issuesOf('references: []\n'), [{ message: /references/ }]);
});

t.test('loadReferences reads a file of the user\'s, and says when it cannot', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-refs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'mine.yaml');
  writeFileSync(file, `references:\n${builtin}`);
  t.same(loadReferences(file).map((r) => r.name), ['builtin']);
  const missing = t.throws(() => loadReferences(join(dir, 'nope.yaml'))) as ReferencesError;
  t.match(missing.message, /nope\.yaml:0:0: cannot read: ENOENT/);
  writeFileSync(file, `references:\n${builtin}  - name: x\n    kind: nonsense\n`);
  const broken = t.throws(() => loadReferences(file)) as ReferencesError;
  t.match(broken.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:9:\\d+: `));
});
