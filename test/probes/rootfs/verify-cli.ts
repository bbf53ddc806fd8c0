import type t from 'tap';
import type { RunResults } from '../../../engine/results.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { kernelDriversProbe } from '../../../probes/rootfs/kernel-drivers.probe.js';
import { Memo } from '../../../probes/types.js';
import { validator } from '../../../requirements/schemas.js';
import { vmspec } from '../../cli/cli-runner.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * `vmspec verify IMAGE --format json` through the built CLI, as a user runs
 * it, for the root filesystem tests: nothing on stderr, schema-valid results,
 * the process exit code the JSON states.
 */
export function verifyImage(t: Tap, image: string, extra: string[] = []): RunResults {
  const r = vmspec(['verify', image, '--format', 'json', ...extra]);
  t.equal(r.stderr, '', 'nothing on stderr');
  const res = JSON.parse(r.stdout) as RunResults;
  const validate = validator('results');
  t.ok(validate(res), `results are schema-valid ${JSON.stringify(validate.errors ?? [])}`);
  t.equal(r.status, res.exitCode, 'process exit code matches the JSON');
  return res;
}

/** image.kernel-drivers' facts for virtio_blk (CONFIG_VIRTIO_BLK), in-process: where the kernel and initrd judged came from. */
export async function virtioBlkDrivers(image: string): Promise<Record<string, any>> {
  const d = openDisk(image);
  try {
    return await kernelDriversProbe.run({ image: d, memo: new Memo() }, { options: [{ config: 'CONFIG_VIRTIO_BLK', module: 'virtio_blk' }] }) as Record<string, any>;
  } finally {
    d.close();
  }
}
