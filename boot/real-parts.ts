import type { BootParts } from './request.js';
import { cloudInitAgent } from './cloud-init/agent.js';
import { resolveBootFirmware } from './firmware/boot-firmware.js';
import { resolveBootImage } from './obtain/boot-image.js';
import { varsFileFacts } from './vars-file.js';
import { bootDomainConfig } from './xen/boot-domain.js';

/** The real parts `vmspec boot` runs with: downloads, firmware descriptors, the varstore reader, cloud-init, xl. */
export const defaultParts: BootParts = {
  resolveImage: resolveBootImage,
  resolveFirmware: resolveBootFirmware,
  varsFileFacts,
  cloudInitAgent,
  xlConfig: bootDomainConfig,
};
