import { defineProbe } from '../types.js';
import { CAPABILITIES, capabilityFacts, guestKernel } from './kernel.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { arr, bool, dict, enumOf, type FactsOf, int, nbool, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.kernel`: what the running guest kernel can drive, from its
 * configuration (/proc/config.gz or /boot/config-RELEASE in the bundle)
 * and /proc/modules: the console UARTs, both GICs, rtc-efi, virtio over PCI
 * and MMIO, the Xen PV front-ends. A driver built as a module that is not
 * loaded is "unknown" here (the initrd may carry it: the image check
 * decides), never "absent".
 */

const capability = obj({
  status: str('"built in", "module, loaded", "module, not loaded: …", "not built", or "unknown: …"'),
  available: nbool('the kernel has the driver: built in, or a loaded module; null when the evidence cannot tell'),
  options: dict(enumOf(['y', 'm', 'n', 'value', 'absent']), 'each Kconfig option the capability needs and its state'),
  modulesNotLoaded: arr(str()),
});

const facts = obj({
  release: nstr(),
  configSource: nstr('where the kernel config came from; null when the evidence has none'),
  configOptions: int('options set in the config'),
  modulesListed: bool('/proc/modules is in the evidence'),
  modules: arr(str(), 'loaded modules'),
  drivers: obj(Object.fromEntries(Object.keys(CAPABILITIES).map((k) => [k, capability]))),
  ...SOURCE_FACTS,
});

export const kernelEvidenceProbe = defineProbe({
  name: 'evidence.kernel',
  summary: 'Guest kernel drivers (PL011/SBSA console, GICv2/v3, rtc-efi, virtio, Xen PV) from its config and loaded modules',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.kernel');
    const k = guestKernel(t);
    const drivers: FactsOf<typeof facts>['drivers'] = {};
    for (const [name, cap] of Object.entries(CAPABILITIES)) {
      const c = capabilityFacts(k, cap);
      drivers[name] = { status: c.status, available: c.available, options: c.options, modulesNotLoaded: c.modulesNotLoaded };
    }
    const out: FactsOf<typeof facts> = {
      release: k.release,
      configSource: k.configSource,
      configOptions: k.config ? k.config.options.size : 0,
      modulesListed: k.modulesListed,
      modules: k.modules,
      drivers,
      ...t.sourceFacts(),
    };
    return out;
  },
});
