import { defineProbe } from '../types.js';
import { bool, int, intEnum, NO_PARAMS, nstr, obj, sparseObj, str, strEnum } from '../facts-schema.js';
import { UnsupportedError } from '../../bytes/errors.js';

/** Container facts a qcow2 image reports (qcow2.txt header fields, named as in probes/image/qcow2.ts). Raw images report {}. */
const hex64 = () => str({ pattern: '^0x[0-9a-f]{16}$' });
const container = sparseObj({
  version: intEnum([2, 3]),
  clusterBits: int(),
  clusterSize: int(),
  virtualSize: int(),
  backingFile: nstr(),
  backingFormat: nstr(),
  backingChainDepth: int('backing images opened below this one (0: none, or the first one cannot be opened)'),
  compressionType: str(),
  encrypted: bool(),
  l1Size: int(),
  l1TableOffset: int(),
  refcountTableOffset: int(),
  refcountOrder: int(),
  nbSnapshots: int(),
  headerLength: int(),
  dirty: bool(),
  corrupt: bool(),
  extendedL2: bool(),
  lazyRefcounts: bool(),
  incompatibleFeatures: hex64(),
  compatibleFeatures: hex64(),
  autoclearFeatures: hex64(),
});

const facts = obj({
  format: strEnum(['raw', 'qcow2']),
  virtualSize: int({ minimum: 0, description: 'bytes the guest sees' }),
  fileSize: int({ minimum: 0, description: 'bytes of the image file on the host' }),
  container,
  virtualDisk: obj({
    complete: bool('the disk the VM sees could be assembled from the files given (false: a followed qcow2 backing file cannot be opened)'),
    reason: nstr('why it could not (which backing file, where it was looked for, why it cannot be opened); null when complete'),
  }),
});

/** image.disk: what container the image is and how big its disk is. */
export const diskProbe = defineProbe({
  name: 'image.disk',
  summary: 'Disk image container (raw or qcow2): format, virtual disk size, file size, container header facts, whether the disk the VM sees is complete',
  input: 'image',
  params: NO_PARAMS,
  facts,
  run({ image }) {
    if (!image) throw new UnsupportedError('image.disk needs an image');
    return {
      format: image.format,
      virtualSize: image.disk.size,
      fileSize: image.fileSize,
      container: { ...image.container },
      virtualDisk: image.virtualDisk.complete ? { complete: true, reason: null } : { complete: false, reason: image.virtualDisk.reason },
    };
  },
});
