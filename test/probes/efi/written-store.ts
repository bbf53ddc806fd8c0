/**
 * A REAL written edk2 variable store: the built-in reference image booted
 * once under QEMU TCG with a fresh copy of AAVMF_VARS.fd, phase `write`, so
 * the guest's collect.sh creates VmspecNonce<nonce>-<vmspec GUID> through
 * efivarfs and the firmware writes it to the pflash copy. Kept under
 * .cache/fixtures with the guest's evidence tar (its own efivarfs view, the
 * oracle), keyed by the sha256 of the reference image, the firmware code
 * and the vars template. One boot (~20-60 s of TCG), then cached.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnsupportedError } from '../../../bytes/errors.js';
import { TarSysroot } from '../../../probes/sysroot/tar.js';
import { buildReferenceImage } from '../../../boot/reference/build.js';
import { createEvidenceDisk } from '../../../boot/reference/evidence-disk.js';
import { findQemu, runQemu } from '../../../boot/qemu-run.js';
import { selectFirmware } from '../../../boot/firmware/select.js';
import { resolveMachineType } from '../../../boot/firmware/machine-type.js';
import { runnerFirmware } from '../../../boot/firmware/runner-firmware.js';
import { createInstanceVars } from '../../../boot/firmware/instance-vars.js';
import type { SelectedFirmware } from '../../../boot/firmware/types.js';
import { cachedDirAsync } from '../../fixtures/cache.js';

const BOOT_TIMEOUT_MS = 300_000;
/** Bump when the recipe (boot options, what is kept) changes. */
const RECIPE_VERSION = 1;

export interface WrittenStore {
  /** The instance's vars file after the guest powered off (64 MiB, as QEMU left it). */
  vars: string;
  /** The guest's evidence bundle (tar) from that boot. */
  evidence: string;
  nonce: string;
  /** The variable the guest created, as efivarfs names it (Name-guid). */
  variable: string;
  dir: string;
}

export type WrittenStoreResult = { ok: true; store: WrittenStore } | { ok: false; skip: string };

function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

function load(dir: string): WrittenStore {
  const info = JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8')) as { nonce: string; variable: string };
  return { vars: join(dir, 'vars.fd'), evidence: join(dir, 'evidence.tar'), nonce: info.nonce, variable: info.variable, dir };
}

/** The cached written store, booting once to make it; `skip` says why not when this machine cannot. */
export async function writtenVarStore(progress: (m: string) => void = () => {}): Promise<WrittenStoreResult> {
  if (process.env.VMSPEC_SKIP_BOOT) return { ok: false, skip: 'VMSPEC_SKIP_BOOT is set' };
  if (findQemu() === undefined) return { ok: false, skip: 'qemu-system-aarch64 not found (apt-get install --no-install-recommends qemu-system-arm)' };
  // The firmware vmspec boot would choose: descriptors, default policy.
  let selected: SelectedFirmware;
  try {
    selected = selectFirmware({ machine: (await resolveMachineType('virt')).canonical, modes: ['split'] });
  } catch (e) {
    if (!(e instanceof UnsupportedError)) throw e;
    return { ok: false, skip: `no UEFI firmware selectable here: ${e.message.split('\n')[0]}` };
  }
  const fw = runnerFirmware(selected);
  let image: string;
  try {
    image = (await buildReferenceImage({ onProgress: progress })).image;
  } catch (e) {
    if (!(e instanceof UnsupportedError)) throw e;
    return { ok: false, skip: `cannot build the reference image here: ${e.message}` };
  }

  const recipe = { v: RECIPE_VERSION, image: sha256File(image), code: sha256File(fw.code), vars: sha256File(fw.varsTemplate) };
  const dir = await cachedDirAsync('efi-written-store', recipe, async (tmp) => {
    const nonce = `F${randomBytes(6).toString('hex')}`;
    const vars = createInstanceVars(selected, join(tmp, 'vars.fd')).filename;
    const disk = join(tmp, 'evidence.img');
    createEvidenceDisk(disk, { phase: 'write', nonce });
    progress(`booting the reference image once to write ${nonce} (TCG, up to ${BOOT_TIMEOUT_MS / 1000} s)`);
    const r = await runQemu({
      image, vars, firmware: fw, evidenceDisk: disk, acpi: true,
      timeoutMs: BOOT_TIMEOUT_MS, serialLog: join(tmp, 'serial.log'),
    });
    const log = readFileSync(r.serialLog, 'latin1');
    if (r.exitCode !== 0 || !/VMSPEC-DONE rc=0/.test(log)) {
      throw new Error(`reference boot for the written vars store failed: exit ${r.exitCode}, timed out ${r.timedOut}\n${r.output}\n${log.split('\n').slice(-30).join('\n')}`);
    }
    // Keep only the tar the guest wrote (the rest of the 32 MiB disk is blank).
    const bundle = new TarSysroot(disk);
    let variable: string;
    let end: number;
    try {
      variable = bundle.readdir('/sys/firmware/efi/efivars').find((n) => n.startsWith(`VmspecNonce${nonce}-`)) ?? '';
      end = bundle.index.endOffset;
    } finally {
      bundle.close();
    }
    if (!variable) throw new Error(`the guest did not create VmspecNonce${nonce} (see ${r.serialLog})`);
    writeFileSync(join(tmp, 'evidence.tar'), readFileSync(disk).subarray(0, end));
    rmSync(disk);
    writeFileSync(join(tmp, 'info.json'), JSON.stringify({ ...recipe, nonce, variable, durationMs: r.durationMs, argv: r.argv }, null, 2));
  });
  return { ok: true, store: load(dir) };
}

