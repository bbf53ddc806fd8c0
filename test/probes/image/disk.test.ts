/**
 * image.disk facts of a qcow2 overlay whose backing chain is followed: the
 * container facts as the header writes them, and whether the disk the VM
 * sees could be assembled (virtualDisk), for a complete chain and for one
 * whose backing file is gone. Overlays and bases are made by qemu-img.
 */
import t from 'tap';
import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { gptOnePartition, qcow2WithBacking, qemuImgInfo } from '../../fixtures/disk-builder.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { diskProbe } from '../../../probes/image/disk.probe.js';
import { partitionTableProbe } from '../../../probes/image/partition-table.probe.js';
import { Memo, type Facts } from '../../../probes/types.js';
import type { DiskImage } from '../../../probes/image/disk.js';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validFacts = ajv.compile(diskProbe.facts);
const facts = (image: DiskImage): Facts => diskProbe.run({ image, memo: new Memo() }, {}) as Facts;

const base = gptOnePartition();
const overlay = qcow2WithBacking(base, ['write -P 0x5a 1M 64k']);
const virtualSize = qemuImgInfo(overlay)['virtual-size'];

t.test('a complete followed chain: the disk is complete, the chain is reported', async (t) => {
  const img = openDisk(overlay, { backing: 'follow' });
  t.teardown(() => img.close());
  const f = facts(img);
  t.ok(validFacts(f), `facts match the schema ${JSON.stringify(validFacts.errors)}`);
  t.match(f, { format: 'qcow2', virtualSize, virtualDisk: { complete: true, reason: null }, container: { backingFile: 'base.raw', backingFormat: 'raw', backingChainDepth: 1 } });
  const table = partitionTableProbe.run({ image: img, memo: new Memo() }, {}) as Facts;
  t.equal(table.scheme, 'gpt', 'the partition table is read through the chain');
});

t.test('a followed backing file that is gone: the container facts, and why the disk is incomplete', async (t) => {
  const dir = t.testdir({});
  const alone = join(dir, 'overlay.qcow2');
  copyFileSync(overlay, alone);
  const img = openDisk(alone, { backing: 'follow' });
  t.teardown(() => img.close());
  const f = facts(img);
  t.ok(validFacts(f), `facts match the schema ${JSON.stringify(validFacts.errors)}`);
  const reason = `backing file "base.raw" does not exist (looked for at ${join(dir, 'base.raw')})`;
  t.match(f, { format: 'qcow2', virtualSize, virtualDisk: { complete: false, reason }, container: { backingFile: 'base.raw', backingFormat: 'raw', backingChainDepth: 0 } });
  t.equal(f.fileSize, statSync(alone).size, 'the file size is still reported');
  t.throws(() => partitionTableProbe.run({ image: img, memo: new Memo() }, {}), { name: 'UnsupportedError', message: `${alone}: the disk the VM sees cannot be assembled: ${reason}` },
    'a probe that reads the disk cannot: the kind of error that makes its clauses undecided');
});
