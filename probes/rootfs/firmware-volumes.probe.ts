import { UnsupportedError } from '../errors.js';
import { defineProbe, type Facts } from '../types.js';
import { NO_PARAMS } from '../facts-schema.js';
import { FIRMWARE_DIRS, scanFirmwareVolumes } from './firmware-volumes.js';

/**
 * `image.firmware-volumes` (FW-7): UEFI firmware volumes (EFI_FIRMWARE_VOLUME_HEADER
 * with "_FVH" at offset 40 and a valid header checksum) in any file on the
 * ESP and under the usual firmware directories of the root filesystem.
 */
export const firmwareVolumesProbe = defineProbe({
  name: 'image.firmware-volumes',
  summary: `UEFI firmware volumes ("_FVH" headers) in files on the ESP and in ${FIRMWARE_DIRS.length} firmware directories of the root filesystem`,
  input: 'image',
  params: NO_PARAMS,
  facts: {
    type: 'object',
    additionalProperties: false,
    required: ['volumes', 'espFiles', 'rootfsDirs', 'rootfsFiles', 'incomplete', 'problems'],
    properties: {
      volumes: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['where', 'path', 'offset', 'fileSystemGuid', 'fileSystem', 'fvLength', 'fileSize'],
          properties: {
            where: { enum: ['esp', 'rootfs'] },
            path: { type: 'string' },
            offset: { type: 'integer', description: 'offset of the volume header in the file' },
            fileSystemGuid: { type: 'string' },
            fileSystem: { type: 'string', description: 'FFS2, FFS3, UEFI variable store…' },
            fvLength: { type: 'integer' },
            fileSize: { type: 'integer' },
          },
        },
      },
      espFiles: { type: 'integer', description: 'files on the ESP checked' },
      rootfsDirs: { type: 'array', items: { type: 'string' }, description: 'firmware directories present in the root filesystem' },
      rootfsFiles: { type: 'integer', description: 'files in them checked' },
      incomplete: { type: ['string', 'null'], description: 'set only when nothing was found and part of the image could not be scanned: what, and why' },
      problems: { type: 'array', items: { type: 'string' } },
    },
  },
  run(inputs): Facts {
    if (!inputs.image) throw new UnsupportedError('image.firmware-volumes needs an image');
    const s = scanFirmwareVolumes(inputs.image, inputs.memo);
    return {
      volumes: s.volumes.map((v) => ({ ...v })),
      espFiles: s.espFiles,
      rootfsDirs: s.rootfsDirs,
      rootfsFiles: s.rootfsFiles,
      incomplete: s.incomplete,
      problems: s.problems,
    };
  },
});
