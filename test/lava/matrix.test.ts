import t from 'tap';
import { expandMatrix, MAX_JOBS, parseMatrix, type Matrix } from '../../lava/matrix.js';
import { MatrixError } from '../../lava/errors.js';

/** Matrix files: schema with file:line, what the schema cannot say, and the cross product. */

const FULL = `# lab matrix
images:
  - name: debian12
    url: https://lab.example/debian-12-genericcloud-arm64.qcow2
    sha256: ${'a'.repeat(64)}
  - name: fedora
    url: https://lab.example/Fedora-Cloud-Base.aarch64.raw.xz
firmware:
  - name: aavmf-2023
    code: { url: https://lab.example/AAVMF_CODE.fd }
    vars: { url: https://lab.example/AAVMF_VARS.fd, sha256: ${'B'.repeat(64)} }
  - name: edk2-stable
    code: { url: /srv/fw/CODE.fd }
    vars: { url: /srv/fw/VARS.fd }
gic: [2, 3]
acpi: [true, false]
hypervisors:
  - name: qemu-7.2
  - name: qemu-9.0
    docker: { image: registry.lab/qemu:9.0, binary: /usr/bin/qemu-system-aarch64 }
    tags: [kvm-arm]
`;

function issuesOf(text: string): { line: number; message: string }[] {
  try {
    parseMatrix(text, 'm.yaml');
  } catch (e) {
    if (e instanceof MatrixError) return e.issues.map((i) => ({ line: i.line, message: i.message }));
    throw e;
  }
  throw new Error('expected a MatrixError');
}

t.test('a full matrix expands to the cross product, images outermost', async (t) => {
  const m = parseMatrix(FULL, 'm.yaml');
  const cells = expandMatrix(m);
  t.equal(cells.length, 2 * 2 * 2 * 2 * 2, '2 images x 2 firmware x 2 gic x 2 acpi x 2 hypervisors');
  t.same(cells.slice(0, 3).map((c) => [c.image.name, c.firmware.name, c.gic, c.acpi, c.hypervisor.name]), [
    ['debian12', 'aavmf-2023', 2, true, 'qemu-7.2'],
    ['debian12', 'aavmf-2023', 2, true, 'qemu-9.0'],
    ['debian12', 'aavmf-2023', 2, false, 'qemu-7.2'],
  ]);
  t.equal(cells[16]!.image.name, 'fedora', 'second half is the second image');
  const keys = new Set(cells.map((c) => `${c.image.name}/${c.firmware.name}/${c.gic}/${c.acpi}/${c.hypervisor.name}`));
  t.equal(keys.size, cells.length, 'every cell is distinct');
  t.equal(m.images[0]!.format, 'qcow2', 'format from .qcow2');
  t.equal(m.images[1]!.format, 'raw', 'format from .raw.xz');
  t.equal(m.images[1]!.compression, 'xz', 'compression from .xz');
  t.equal(m.images[0]!.sha256, 'a'.repeat(64));
  t.equal(m.firmware[0]!.vars.sha256, 'b'.repeat(64), 'sha256 lower-cased');
  t.equal(m.firmware[1]!.code.url, 'file:///srv/fw/CODE.fd', 'a path becomes a file:// URL');
  t.same(m.hypervisors[1]!.docker, { image: 'registry.lab/qemu:9.0', binary: '/usr/bin/qemu-system-aarch64' });
});

t.test('defaults: GICv3, ACPI, the worker QEMU', async (t) => {
  const m = parseMatrix('images: [{name: a, url: "http://x/a.img"}]\nfirmware: [{name: f, code: {url: "http://x/c"}, vars: {url: "http://x/v"}}]\n', 'm.yaml');
  t.same(m.gic, [3]);
  t.same(m.acpi, [true]);
  t.same(m.hypervisors, [{ name: 'worker' }]);
  t.equal(expandMatrix(m).length, 1);
});

t.test('schema problems carry the line they are on', async (t) => {
  const text = FULL.replace('gic: [2, 3]', 'gic: [2, 4]');
  const line = text.split('\n').findIndex((l) => l.startsWith('gic:')) + 1;
  const issues = issuesOf(text);
  t.ok(issues.some((i) => i.line === line && /gic\.1: must be one of 2, 3/.test(i.message)), JSON.stringify(issues));

  const unknown = issuesOf(FULL.replace('    sha256: ' + 'a'.repeat(64), '    checksum: x'));
  t.ok(unknown.some((i) => i.line === 5 && /unknown field "checksum"/.test(i.message)), JSON.stringify(unknown));

  const missing = issuesOf('images: [{name: a, url: "http://x/a.img"}]\n');
  t.ok(missing.some((i) => /missing required field "firmware"/.test(i.message)), JSON.stringify(missing));

  const badName = issuesOf(FULL.replace('name: fedora', 'name: "fedora 38"'));
  t.ok(badName.some((i) => i.line === 6 && /images\.1\.name/.test(i.message)), JSON.stringify(badName));
});

t.test('what the schema cannot say: URLs, duplicate names', async (t) => {
  const ftp = issuesOf(FULL.replace('https://lab.example/AAVMF_CODE.fd', 'ftp://lab.example/AAVMF_CODE.fd'));
  t.ok(ftp.some((i) => i.line === 10 && /firmware\.0\.code\.url: LAVA cannot download ftp: URLs/.test(i.message)), JSON.stringify(ftp));
  const spaced = issuesOf(FULL.replace('/srv/fw/VARS.fd', '"/srv/fw/my VARS.fd"'));
  t.ok(spaced.some((i) => i.line === 14 && /whitespace/.test(i.message)), JSON.stringify(spaced));
  const dup = issuesOf(FULL.replace('name: fedora', 'name: Debian12'));
  t.ok(dup.some((i) => i.line === 6 && /already used by images\.0/.test(i.message)), JSON.stringify(dup));
});

t.test('unusable YAML: empty, tags, duplicate keys', async (t) => {
  t.match(issuesOf('')[0]!.message, /empty/);
  t.match(issuesOf('images: !python/object x\nfirmware: []\n')[0]!.message, /tag:? !python\/object/i);
  const dupKey = issuesOf('images: []\nimages: []\nfirmware: []\n');
  t.equal(dupKey[0]!.line, 2, 'duplicate key reported on its line');
});

t.test('an oversized matrix is refused before any job is built', async (t) => {
  const many = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, url: `http://x/${prefix}${i}.img`, format: 'raw' as const }));
  const m: Matrix = {
    images: many(40, 'i'),
    firmware: many(30, 'f').map((f) => ({ name: f.name, code: { url: f.url }, vars: { url: f.url } })),
    gic: [2, 3], acpi: [true], hypervisors: [{ name: 'worker' }],
  };
  t.ok(40 * 30 * 2 > MAX_JOBS);
  t.throws(() => expandMatrix(m), /expands to 2400 jobs, over the limit of 1000/);
});
