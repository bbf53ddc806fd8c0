import type { FuzzTarget } from '../harness.js';
import { acpiTarget } from './acpi.js';
import { btrfsTarget } from './btrfs.js';
import { efivarsTarget } from './efivars.js';
import { ext4Target } from './ext4.js';
import { fatTarget } from './fat.js';
import { fdtTarget } from './fdt.js';
import { lvmTarget } from './lvm.js';
import { gptTarget, mbrTarget } from './partition-table.js';
import { peTarget } from './pe.js';
import { qcow2Target } from './qcow2.js';
import { tarTarget } from './tar.js';
import { varstoreTarget } from './varstore.js';
import { xfsTarget } from './xfs.js';

/**
 * Every fuzz target by name, for the regression replay. A new parser adds
 * its target here and a test file calling fuzz(t, target); its saved
 * failures then replay with the rest.
 */
export const TARGETS: Readonly<Record<string, () => FuzzTarget>> = {
  mbr: () => mbrTarget,
  gpt: () => gptTarget,
  fat: () => fatTarget,
  pe: () => peTarget,
  qcow2: () => qcow2Target,
  ext4: () => ext4Target,
  xfs: () => xfsTarget,
  btrfs: () => btrfsTarget,
  lvm: () => lvmTarget,
  acpi: () => acpiTarget,
  fdt: () => fdtTarget,
  tar: () => tarTarget,
  efivars: efivarsTarget,
  varstore: () => varstoreTarget,
};
