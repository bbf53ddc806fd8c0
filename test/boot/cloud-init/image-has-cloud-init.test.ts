/**
 * Whether `vmspec boot` can run the collector through cloud-init is read from
 * the image's root, through a qcow2 backing chain exactly when the boot was
 * told to follow one (QEMU then opens the chain too).
 */
import t from 'tap';
import { join } from 'node:path';
import { imageHasCloudInit } from '../../../boot/cloud-init/image-has-cloud-init.js';
import { run } from '../../fixtures/cache.js';
import { CLOUD_INIT_BASE } from '../../fixtures/cloud-init-root.js';
import { buildGptDisk } from '../../fixtures/disk-builder.js';
import { buildSyntheticRoot } from '../../fixtures/rootfs-builder.js';

const ROOT_TYPE = 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE'; // Linux root (ARM 64-bit)

function disk(name: string, files: Record<string, string | { symlink: string }>): string {
  const root = buildSyntheticRoot({ name, kernels: [], files }).image;
  return buildGptDisk([{ type: ROOT_TYPE, sizeMiB: 40, name: 'root', contentFile: root }], { label: name });
}

t.test('a raw image: from its root', async (t) => {
  t.equal(await imageHasCloudInit(disk('has-cloud-init', CLOUD_INIT_BASE)), true, 'cloud-init installed, enabled, NoCloud');
  t.equal(await imageHasCloudInit(disk('has-cloud-init-disabled', { ...CLOUD_INIT_BASE, 'etc/cloud/cloud-init.disabled': '' })), false, 'disabled');
  t.equal(await imageHasCloudInit(disk('has-no-cloud-init', {})), false, 'not installed');
});

t.test('a qcow2 overlay: through the chain when it is followed, unknown when it is refused', async (t) => {
  const dir = t.testdir({});
  const base = join(dir, 'base.qcow2');
  const overlay = join(dir, 'overlay.qcow2');
  run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', disk('has-cloud-init', CLOUD_INIT_BASE), base]);
  run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', overlay]);
  t.equal(await imageHasCloudInit(overlay, 'follow'), true, 'followed: the base\'s root has cloud-init');
  t.equal(await imageHasCloudInit(overlay, 'refuse'), null, 'refused: the overlay alone is not the disk, so unknown');
  t.equal(await imageHasCloudInit(overlay), null, 'refuse is the default, as for --backing');
});
