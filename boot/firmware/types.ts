import type { DiskFormat } from '../../probes/image/disk-format.js';

/**
 * The firmware `vmspec boot` runs, as a QEMU firmware descriptor
 * (QEMU docs/interop/firmware.json) or explicit paths describe it.
 */

/** FirmwareFlashMode (firmware.json): split = read-only code + per-VM vars; combined = one writable image; stateless = code only. */
export type FlashMode = 'split' | 'combined' | 'stateless';


/** FirmwareFlashFile (firmware.json). */
export interface FlashFile {
  filename: string;
  format: DiskFormat;
}

export interface SelectedFirmware {
  /** The descriptor chosen; absent when built from explicit paths. */
  descriptorPath?: string;
  /** Firmware.description, or what the paths were. */
  description: string;
  /** mapping.executable: pflash unit 0, read-only (combined: the writable image). */
  code: FlashFile;
  /** mapping.nvram-template: copied per VM instance (split mode only). */
  varsTemplate?: FlashFile;
  /** Firmware.features as the descriptor lists them. */
  features: string[];
  mode: FlashMode;
  /** Descriptors skipped as malformed while selecting (file and reason). */
  warnings: string[];
}
