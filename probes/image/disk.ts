import type { ByteSource } from '../../bytes/byte-source.js';
import type { DiskFormat } from './disk-format.js';

/** A disk image as the VM sees it: virtual bytes, whatever the container. */
export interface DiskImage {
  readonly path: string;
  readonly format: DiskFormat;
  /** The disk's content (for qcow2: the guest-visible virtual disk). */
  readonly disk: ByteSource;
  /** Size of the file on the host. */
  readonly fileSize: number;
  /** Container facts (qcow2 version, cluster size, backing file, compression...). */
  readonly container: { [key: string]: string | number | boolean | null };
  close(): void;
}
