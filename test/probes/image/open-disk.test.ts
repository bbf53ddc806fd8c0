import t from 'tap';
import { chmodSync, copyFileSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../fixtures/cache.js';
import { convertTo, dataDisk, encryptedImages, gptOnePartition, patternFile, qcow2WithBacking, qemuImgInfo, sha256File, toQcow2, toRaw } from '../../fixtures/disk-builder.js';
import { openDisk, MAX_BACKING_DEPTH } from '../../../probes/image/open-disk.js';
import { ParseError, UnsupportedError } from '../../../bytes/errors.js';

t.test('raw images', async (t) => {
  const path = gptOnePartition();
  const img = openDisk(path);
  t.teardown(() => img.close());
  t.equal(img.format, 'raw');
  t.equal(img.disk.size, statSync(path).size);
  t.equal(img.fileSize, statSync(path).size);
  t.same(img.container, {});
  t.equal(img.path, path);
});

t.test('qcow2 container facts agree with qemu-img info', async (t) => {
  for (const opts of [{ compat: '0.10' as const }, { compat: '1.1' as const, compressed: true }, { extendedL2: true }]) {
    const path = toQcow2(dataDisk(), opts);
    const info = qemuImgInfo(path);
    const img = openDisk(path);
    const c = img.container;
    t.equal(img.format, 'qcow2');
    t.equal(img.disk.size, info['virtual-size']);
    t.equal(img.fileSize, statSync(path).size);
    t.equal(c.virtualSize, info['virtual-size']);
    t.equal(c.clusterSize, info['cluster-size']);
    t.equal(c.version, info['format-specific']?.data.compat === '0.10' ? 2 : 3);
    t.equal(c.compressionType, info['format-specific']?.data['compression-type'] ?? 'zlib');
    t.equal(c.extendedL2, info['format-specific']?.data['extended-l2'] ?? false);
    t.equal(c.backingFile, null);
    t.equal(c.encrypted, false);
    t.equal(c.dirty, false);
    t.equal(c.backingChainDepth, 0);
    img.close();
  }
});

t.test('other containers are refused by magic, with a conversion hint', async (t) => {
  const raw = gptOnePartition();
  const cases: [string, string, RegExp][] = [
    ['vmdk', convertTo(raw, 'vmdk'), /vmdk images are not supported/],
    ['vmdk descriptor', convertTo(raw, 'vmdk', 'subformat=monolithicFlat'), /vmdk \(descriptor file\)/],
    ['vhdx', convertTo(raw, 'vhdx'), /vhdx images/],
    ['vdi', convertTo(raw, 'vdi'), /vdi images/],
    ['vpc dynamic', convertTo(raw, 'vpc'), /vpc \(VHD\) images/],
    ['vpc fixed (footer at the end only)', convertTo(raw, 'vpc', 'subformat=fixed'), /vpc \(VHD\) images/],
    ['qed', convertTo(raw, 'qed'), /qed images/],
  ];
  cases.push(['LUKS', encryptedImages().luks, /LUKS encrypted volume/]);
  for (const [label, path, message] of cases) {
    // qemu-img probes a fixed VHD as raw (its footer is only at the end); we refuse it, since the footer is not disk.
    if (!label.startsWith('vpc fixed')) t.equal(qemuImgInfo(path).format === 'raw', false, `${label}: qemu-img sees a container`);
    t.throws(() => openDisk(path), { name: 'UnsupportedError', message }, label);
    try {
      openDisk(path);
    } catch (e) {
      t.match((e as UnsupportedError).hint, label === 'LUKS' ? /cryptsetup|qemu-img/ : /qemu-img convert -O raw/, `${label} hint`);
    }
  }
  // The flat extent next to a vmdk descriptor is plain raw data.
  const flat = convertTo(raw, 'vmdk', 'subformat=monolithicFlat').replace(/\.vmdk$/, '-flat.vmdk');
  const img = openDisk(flat);
  t.equal(img.format, 'raw');
  img.close();
});

t.test('backing files', async (t) => {
  const base = patternFile(1, 5);
  const overlay = qcow2WithBacking(base, ['write -P 0x77 0 4k']);

  t.test('refused by default, naming the file', async (t) => {
    t.throws(() => openDisk(overlay), { name: 'UnsupportedError', message: /has a backing file "base\.raw" \(format raw\)/ });
  });

  t.test('followed on request, relative to the image', async (t) => {
    const img = openDisk(overlay, { backing: 'follow' });
    t.teardown(() => img.close());
    t.equal(img.container.backingFile, 'base.raw');
    const oracle = readFileSync(toRaw(overlay));
    t.same(Buffer.from(img.disk.read(0, 8192)), oracle.subarray(0, 8192));
  });

  t.test('a followed backing file that cannot be opened: the virtual disk is incomplete, with the reason; reads are refused', async (t) => {
    const dir = t.testdir({ 'a-file': 'x', 'base.raw': {} });
    const missingBase = join(dir, 'missing.qcow2');
    copyFileSync(overlay, missingBase);
    const nameIs = (image: string, name: string, format = 'raw'): void => void run('qemu-img', ['rebase', '-u', '-b', name, '-F', format, image]);
    const cases: [string, string, string][] = [
      ['absent', 'gone.raw', `backing file "gone.raw" does not exist (looked for at ${join(dir, 'gone.raw')})`],
      ['absent, absolute name', join(dir, 'gone.raw'), `backing file "${join(dir, 'gone.raw')}" does not exist`],
      ['part of its path is a file', 'a-file/base.raw', `backing file "a-file/base.raw" is not reachable: part of its path is not a directory (looked for at ${join(dir, 'a-file/base.raw')})`],
      ['a directory', 'base.raw', `backing file "base.raw" is a directory (looked for at ${join(dir, 'base.raw')})`],
      ['a symbolic link to itself', 'loop.raw', `backing file "loop.raw" is not reachable: its path loops through symbolic links (looked for at ${join(dir, 'loop.raw')})`],
    ];
    symlinkSync('loop.raw', join(dir, 'loop.raw'));
    // As root every file is readable, so "permission denied" (EACCES) is only tried as another user.
    if (process.getuid?.() !== 0) {
      writeFileSync(join(dir, 'locked.raw'), '');
      chmodSync(join(dir, 'locked.raw'), 0);
      cases.push(['unreadable', 'locked.raw', `backing file "locked.raw" cannot be read: permission denied (looked for at ${join(dir, 'locked.raw')})`]);
    }
    for (const [label, name, reason] of cases) {
      nameIs(missingBase, name);
      const img = openDisk(missingBase, { backing: 'follow' });
      t.same(img.virtualDisk, { complete: false, reason }, `${label}: the reason names the file as written, where it was looked for, and why`);
      t.equal(img.container.backingFile, name, `${label}: the header's backing file name is still reported`);
      t.equal(img.container.backingFormat, 'raw');
      t.equal(img.container.backingChainDepth, 0, 'no backing image was opened');
      t.equal(img.disk.size, qemuImgInfo(overlay)['virtual-size'], 'the virtual size comes from the header');
      t.throws(() => img.disk.read(0, 512), { name: 'UnsupportedError', message: `${missingBase}: the disk the VM sees cannot be assembled: ${reason}` }, `${label}: no byte of an incomplete disk is read`);
      img.close();
    }
    t.throws(() => openDisk(missingBase), { name: 'UnsupportedError', message: /has a backing file "[^"]+" \(format raw\); the image alone is not the whole disk/ }, 'not followed unless asked: still refused by default');
    // Deeper in the chain: the middle image opens, its own backing file is gone; the top names where.
    const mid = join(dir, 'mid.qcow2');
    run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'gone.qcow2', '-F', 'qcow2', '-u', mid, '1M']);
    const top = join(dir, 'top.qcow2');
    run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', '-u', top, '1M']);
    const chained = openDisk(top, { backing: 'follow' });
    t.same(chained.virtualDisk, { complete: false, reason: `${mid}: backing file "gone.qcow2" does not exist (looked for at ${join(dir, 'gone.qcow2')})` });
    t.equal(chained.container.backingChainDepth, 1, 'the middle image was opened');
    chained.close();
    // An unsupported backing format is an input error even when the file is absent: vmspec could not read it either way.
    nameIs(missingBase, 'gone.vmdk', 'vmdk');
    t.throws(() => openDisk(missingBase, { backing: 'follow' }), { name: 'UnsupportedError', message: /backing file format "vmdk" is not supported/ });
  });

  t.test('a complete chain is complete', async (t) => {
    const img = openDisk(overlay, { backing: 'follow' });
    t.same(img.virtualDisk, { complete: true });
    t.equal(img.container.backingChainDepth, 1);
    img.close();
    t.same(openDisk(base).virtualDisk, { complete: true }, 'a raw disk is its own virtual disk');
  });

  t.test('loops and depth', async (t) => {
    const dir = t.testdir({});
    const q = (name: string, args: string[]): string => {
      run('qemu-img', ['create', '-f', 'qcow2', ...args, name, '1M'], { cwd: dir });
      return join(dir, name);
    };
    const a = q('a.qcow2', []);
    q('b.qcow2', ['-b', 'a.qcow2', '-F', 'qcow2']);
    run('qemu-img', ['rebase', '-u', '-b', 'b.qcow2', '-F', 'qcow2', 'a.qcow2'], { cwd: dir });
    t.throws(() => openDisk(a, { backing: 'follow' }), { name: 'ParseError', message: /backing chain loops back/ });

    q('c0.qcow2', []);
    for (let i = 1; i <= MAX_BACKING_DEPTH + 1; i++) q(`c${i}.qcow2`, ['-b', `c${i - 1}.qcow2`, '-F', 'qcow2']);
    const ok = openDisk(join(dir, `c${MAX_BACKING_DEPTH}.qcow2`), { backing: 'follow' });
    t.equal(ok.container.backingChainDepth, MAX_BACKING_DEPTH, `a chain of ${MAX_BACKING_DEPTH} backing files is followed`);
    t.ok(ok.disk.read(0, 4096).every((b) => b === 0));
    ok.close();
    t.throws(() => openDisk(join(dir, `c${MAX_BACKING_DEPTH + 1}.qcow2`), { backing: 'follow' }), { name: 'UnsupportedError', message: /deeper than 8/ });

    const nbd = q('nbd.qcow2', []);
    run('qemu-img', ['rebase', '-u', '-b', 'nbd://localhost/x', '-F', 'raw', 'nbd.qcow2'], { cwd: dir });
    t.throws(() => openDisk(nbd, { backing: 'follow' }), { name: 'UnsupportedError', message: /protocol URL/ });
  });

  t.test('declared backing format is honoured; absent format is sniffed', async (t) => {
    const dir = t.testdir({});
    copyFileSync(overlay, join(dir, 'o.qcow2'));
    // Declared raw but the file is qcow2: read as raw, as QEMU would (so the overlay sees qcow2 header bytes).
    copyFileSync(toQcow2(base), join(dir, 'base.raw'));
    const img = openDisk(join(dir, 'o.qcow2'), { backing: 'follow' });
    // Past the overlay's first (copied-on-write) cluster, bytes come from the backing file.
    t.same(Buffer.from(img.disk.read(65536, 4096)), readFileSync(join(dir, 'base.raw')).subarray(65536, 69632), 'backing declared raw is read raw');
    img.close();
    // Hide the backing-format extension (retype it as an unknown one): the format is then sniffed.
    const buf = readFileSync(join(dir, 'o.qcow2'));
    const ext = buf.indexOf(Buffer.from([0xe2, 0x79, 0x2a, 0xca]));
    t.ok(ext > 0);
    buf.writeUInt32BE(0x12345678, ext);
    writeFileSync(join(dir, 'o.qcow2'), buf);
    const sniffed = openDisk(join(dir, 'o.qcow2'), { backing: 'follow' });
    t.equal(sniffed.container.backingFormat, null);
    t.same(Buffer.from(sniffed.disk.read(65536, 4096)), readFileSync(base).subarray(65536, 69632), 'qcow2 backing detected by magic');
    sniffed.close();
  });
});

t.test('opening and reading never writes', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'x.qcow2');
  copyFileSync(toQcow2(dataDisk(), { compressed: true }), path);
  const before = { sha: sha256File(path), mtime: statSync(path).mtimeMs };
  const img = openDisk(path);
  img.disk.read(0, img.disk.size > 8 << 20 ? 8 << 20 : img.disk.size);
  img.close();
  t.same({ sha: sha256File(path), mtime: statSync(path).mtimeMs }, before);
});

t.test('garbage and empty files are raw disks without a table; truncated qcow2 headers are errors', async (t) => {
  const dir = t.testdir({ 'empty.img': '', 'junk.img': 'hello world, not a disk\n'.repeat(100) });
  const empty = openDisk(join(dir, 'empty.img'));
  t.equal(empty.format, 'raw');
  t.equal(empty.disk.size, 0);
  empty.close();
  const junk = openDisk(join(dir, 'junk.img'));
  t.equal(junk.format, 'raw');
  junk.close();
  writeFileSync(join(dir, 'short.qcow2'), readFileSync(toQcow2(dataDisk())).subarray(0, 60));
  t.throws(() => openDisk(join(dir, 'short.qcow2')), ParseError);
});
