import type { ByteSource } from '../../bytes/byte-source.js';
import type { DiskFormat } from './disk-format.js';

/**
 * Whether the disk the VM sees could be assembled from the files given. A
 * qcow2 chain whose followed backing file cannot be opened is not (QEMU
 * refuses to start such a VM): `reason` says which file and why.
 */
export type VirtualDisk = { readonly complete: true } | { readonly complete: false; readonly reason: string };

/** A disk image as the VM sees it: virtual bytes, whatever the container. */
export interface DiskImage {
  readonly path: string;
  readonly format: DiskFormat;
  /**
   * The disk's content (for qcow2: the guest-visible virtual disk). When
   * `virtualDisk` is not complete its size is still the container's virtual
   * size, but every read throws UnsupportedError with the reason, so each
   * clause that reads the disk is undecided.
   */
  readonly disk: ByteSource;
  readonly virtualDisk: VirtualDisk;
  /** Size of the file on the host. */
  readonly fileSize: number;
  /** Container facts (qcow2 version, cluster size, backing file, compression...). */
  readonly container: { [key: string]: string | number | boolean | null };
  close(): void;
}
