import { defineProbe, type Facts, type Schema } from '../types.js';
import { NO_PARAMS } from '../facts-schema.js';
import { UnsupportedError } from '../errors.js';

/** Container facts a qcow2 image reports (qcow2.txt header fields, named as in probes/image/qcow2.ts). Raw images report {}. */
const containerSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { type: 'integer', enum: [2, 3] },
    clusterBits: { type: 'integer' },
    clusterSize: { type: 'integer' },
    virtualSize: { type: 'integer' },
    backingFile: { type: ['string', 'null'] },
    backingFormat: { type: ['string', 'null'] },
    backingChainDepth: { type: 'integer', description: 'backing images followed below this one (0: none)' },
    compressionType: { type: 'string' },
    encrypted: { type: 'boolean' },
    l1Size: { type: 'integer' },
    l1TableOffset: { type: 'integer' },
    refcountTableOffset: { type: 'integer' },
    refcountOrder: { type: 'integer' },
    nbSnapshots: { type: 'integer' },
    headerLength: { type: 'integer' },
    dirty: { type: 'boolean' },
    corrupt: { type: 'boolean' },
    extendedL2: { type: 'boolean' },
    lazyRefcounts: { type: 'boolean' },
    incompatibleFeatures: { type: 'string', pattern: '^0x[0-9a-f]{16}$' },
    compatibleFeatures: { type: 'string', pattern: '^0x[0-9a-f]{16}$' },
    autoclearFeatures: { type: 'string', pattern: '^0x[0-9a-f]{16}$' },
  },
};

/** image.disk: what container the image is and how big its disk is. */
export const diskProbe = defineProbe({
  name: 'image.disk',
  summary: 'Disk image container (raw or qcow2): format, virtual disk size, file size, container header facts',
  input: 'image',
  params: NO_PARAMS,
  facts: {
    type: 'object',
    additionalProperties: false,
    required: ['format', 'virtualSize', 'fileSize', 'container'],
    properties: {
      format: { type: 'string', enum: ['raw', 'qcow2'] },
      virtualSize: { type: 'integer', minimum: 0, description: 'bytes the guest sees' },
      fileSize: { type: 'integer', minimum: 0, description: 'bytes of the image file on the host' },
      container: containerSchema,
    },
  },
  run({ image }): Facts {
    if (!image) throw new UnsupportedError('image.disk needs an image');
    return {
      format: image.format,
      virtualSize: image.disk.size,
      fileSize: image.fileSize,
      container: { ...image.container },
    };
  },
});
