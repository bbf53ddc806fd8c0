import type t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import type { DiskImage } from '../../../probes/image/disk.js';
import { crc32 } from '../../../bytes/crc32.js';

/**
 * Test-only GPT surgery on an in-memory disk: read fields, change them, and
 * re-seal the CRCs so a test breaks exactly one thing at a time
 * (UEFI 2.6 §5.3.2 Table 17 offsets).
 */
export class GptEditor {
  constructor(readonly buf: Buffer, readonly ss: 512 | 4096 = 512) {}

  static load(path: string, ss: 512 | 4096 = 512): GptEditor {
    return new GptEditor(readFileSync(path), ss);
  }

  get lastLba(): number {
    return this.buf.length / this.ss - 1;
  }

  header(lba: number): number {
    return lba * this.ss;
  }

  entryArrayOffset(lba: number): number {
    return Number(this.buf.readBigUInt64LE(this.header(lba) + 72)) * this.ss;
  }

  entryOffset(lba: number, n: number): number {
    return this.entryArrayOffset(lba) + (n - 1) * this.buf.readUInt32LE(this.header(lba) + 84);
  }

  /** Recomputes PartitionEntryArrayCRC32 then HeaderCRC32 of the header at `lba`. */
  seal(lba: number): this {
    const h = this.header(lba);
    const count = this.buf.readUInt32LE(h + 80);
    const size = this.buf.readUInt32LE(h + 84);
    const pe = this.entryArrayOffset(lba);
    if (count * size <= 1024 * 1024 && pe + count * size <= this.buf.length) {
      this.buf.writeUInt32LE(crc32(this.buf.subarray(pe, pe + count * size)), h + 88);
    }
    return this.sealHeaderOnly(lba);
  }

  sealHeaderOnly(lba: number): this {
    const h = this.header(lba);
    const hs = this.buf.readUInt32LE(h + 12);
    this.buf.writeUInt32LE(0, h + 16);
    this.buf.writeUInt32LE(crc32(this.buf.subarray(h, h + hs)), h + 16);
    return this;
  }

  /** Both headers (primary at 1, backup at the last LBA). */
  sealBoth(): this {
    return this.seal(1).seal(this.lastLba);
  }

  image(name = 'edited'): DiskImage {
    const disk = new BufferByteSource(new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.length), name);
    return { path: name, format: 'raw', disk, virtualDisk: { complete: true }, fileSize: this.buf.length, container: {}, close: () => {} };
  }

  /** Writes the disk to a temporary file (for sgdisk as oracle); removed by the returned cleanup. */
  toFile(): { path: string; cleanup: () => void } {
    const dir = mkdtempSync(join(tmpdir(), 'vmspec-gpt-'));
    const path = join(dir, 'disk.img');
    writeFileSync(path, this.buf);
    return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
}

/** A DiskImage over bytes in memory. */
export function memoryImage(bytes: Uint8Array, name = 'memory'): DiskImage {
  const disk = new BufferByteSource(bytes, name);
  return { path: name, format: 'raw', disk, virtualDisk: { complete: true }, fileSize: bytes.length, container: {}, close: () => {} };
}

export { prng } from '../../fixtures/prng.js';

/** The test object tap hands to a subtest callback. */
export type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];
