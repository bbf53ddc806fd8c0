import { UnsupportedError } from '../../bytes/errors.js';
import { arr, enumOf, int, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';
import { defineProbe } from '../types.js';
import { FIRMWARE_DIRS, scanFirmwareVolumes } from './firmware-volumes.js';

/**
 * `image.firmware-volumes` (FW-7): UEFI firmware volumes (EFI_FIRMWARE_VOLUME_HEADER
 * with "_FVH" at offset 40 and a valid header checksum) in any file on the
 * ESP and under the usual firmware directories of the root filesystem.
 */
const facts = obj({
  volumes: arr(obj({
    where: enumOf(['esp', 'rootfs']),
    path: str(),
    offset: int('offset of the volume header in the file'),
    fileSystemGuid: str(),
    fileSystem: str('FFS2, FFS3, UEFI variable store…'),
    fvLength: int(),
    fileSize: int(),
  })),
  espFiles: int('files on the ESP checked'),
  rootfsDirs: arr(str(), 'firmware directories present in the root filesystem'),
  rootfsFiles: int('files in them checked'),
  incomplete: nstr('set only when nothing was found and part of the image could not be scanned: what, and why'),
  problems: arr(str()),
});

export const firmwareVolumesProbe = defineProbe({
  name: 'image.firmware-volumes',
  summary: `UEFI firmware volumes ("_FVH" headers) in files on the ESP and in ${FIRMWARE_DIRS.length} firmware directories of the root filesystem`,
  input: 'image',
  params: NO_PARAMS,
  facts,
  run(inputs) {
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
