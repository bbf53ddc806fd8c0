import { zlib } from '../../bytes/lazy-builtins.js';
import { ParseError } from '../../bytes/errors.js';
import { parseKernelConfig, type KernelConfig, type OptionState } from '../rootfs/kernel-config.js';
import { parseModules } from './procfs.js';
import type { Tracker } from './read.js';

/** A kernel config is a few hundred KiB; refuse a decompressed one beyond this. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export interface GuestKernel {
  release: string | null;
  /** Where the config came from ("/proc/config.gz", "/boot/config-6.1.0-50-arm64"), or null. */
  configSource: string | null;
  config: KernelConfig | null;
  /** Loaded modules, names normalised with underscores. */
  modules: string[];
  modulesListed: boolean;
}

export function normaliseModule(name: string): string {
  return name.replace(/-/g, '_');
}

/**
 * The running kernel's configuration: /proc/config.gz (CONFIG_IKCONFIG_PROC,
 * gunzipped here with zlib) or /boot/config-<release> as the collector
 * copies it; and /proc/modules.
 */
export function guestKernel(t: Tracker): GuestKernel {
  return t.derived('kernel', (s) => {
    const release = s.line('/proc/sys/kernel/osrelease') ?? /^Linux \S+ (\S+)/.exec(s.line('/cmd/uname-a') ?? '')?.[1] ?? /Linux version (\S+)/.exec(s.line('/proc/version') ?? '')?.[1] ?? null;
    let configSource: string | null = null;
    let text: string | undefined;
    const gz = s.bytes('/proc/config.gz');
    if (gz !== undefined) {
      try {
        text = new TextDecoder('utf-8').decode(zlib().gunzipSync(gz, { maxOutputLength: MAX_CONFIG_BYTES }));
      } catch (e) {
        throw new ParseError('/proc/config.gz', -1, `does not gunzip: ${(e as Error).message}`);
      }
      configSource = '/proc/config.gz';
    } else {
      const candidates = release ? [`config-${release}`] : (s.list('/boot') ?? []).filter((n) => /^config-/.test(n));
      for (const name of candidates) {
        const c = s.text(`/boot/${name}`, MAX_CONFIG_BYTES);
        if (c !== undefined) {
          text = c;
          configSource = `/boot/${name}`;
          break;
        }
      }
    }
    const modulesText = s.text('/proc/modules');
    return {
      release,
      configSource,
      config: text === undefined ? null : parseKernelConfig(text),
      modules: modulesText === undefined ? [] : parseModules(modulesText).map(normaliseModule),
      modulesListed: modulesText !== undefined,
    };
  });
}

/** A driver capability: the config options it needs (all of them), each with the module that provides it when it is =m. */
export type Capability = Record<string, string | null>;

/** Guest OS capabilities the VM spec names (GUEST-1..4), as Kconfig options and their modules. */
export const CAPABILITIES: Record<string, Capability> = {
  // Linux's amba-pl011 driver drives the PL011 and also the SBSA generic UART (ACPI ARMH0011 / arm,sbsa-uart).
  pl011Console: { CONFIG_SERIAL_AMBA_PL011: 'amba_pl011', CONFIG_SERIAL_AMBA_PL011_CONSOLE: null },
  gicv2: { CONFIG_ARM_GIC: null },
  gicv3: { CONFIG_ARM_GIC_V3: null },
  rtcEfi: { CONFIG_RTC_DRV_EFI: 'rtc_efi' },
  virtioPci: { CONFIG_VIRTIO_PCI: 'virtio_pci', CONFIG_VIRTIO_BLK: 'virtio_blk', CONFIG_VIRTIO_NET: 'virtio_net' },
  virtioMmio: { CONFIG_VIRTIO_MMIO: 'virtio_mmio', CONFIG_VIRTIO_BLK: 'virtio_blk', CONFIG_VIRTIO_NET: 'virtio_net' },
  virtioConsole: { CONFIG_VIRTIO_CONSOLE: 'virtio_console' },
  virtioBalloon: { CONFIG_VIRTIO_BALLOON: 'virtio_balloon' },
  xenBlkfront: { CONFIG_XEN: null, CONFIG_XEN_BLKDEV_FRONTEND: 'xen_blkfront' },
  xenNetfront: { CONFIG_XEN: null, CONFIG_XEN_NETDEV_FRONTEND: 'xen_netfront' },
  hvcXen: { CONFIG_XEN: null, CONFIG_HVC_XEN: null },
  xenBalloon: { CONFIG_XEN: null, CONFIG_XEN_BALLOON: null },
};

export const STATUS = {
  builtin: 'built in',
  loaded: 'module, loaded',
  notLoaded: 'module, not loaded: whether the initrd carries it is for the image check (vmspec verify IMAGE)',
  notBuilt: 'not built',
  noConfig: 'unknown: no kernel config in the evidence (/proc/config.gz or /boot/config-RELEASE)',
} as const;

export interface CapabilityFacts {
  status: string;
  available: boolean | null;
  options: Record<string, OptionState>;
  /** Modules (of the =m options) not loaded. */
  modulesNotLoaded: string[];
}

/**
 * built in: every option =y. module, loaded: each option =y or =m with its
 * module in /proc/modules. not built: an option is unset. Otherwise (=m,
 * module not loaded) the guest cannot tell: the initrd may carry it.
 */
export function capabilityFacts(k: GuestKernel, cap: Capability): CapabilityFacts {
  const options: Record<string, OptionState> = {};
  const notLoaded: string[] = [];
  for (const [o, module] of Object.entries(cap)) {
    const state = k.config ? k.config.get(o).state : 'absent';
    options[o] = state;
    const mustLoad = k.config ? state === 'm' : module !== null;
    if (mustLoad && (module === null || !k.modules.includes(module))) notLoaded.push(module ?? o);
  }
  if (!k.config) {
    if (notLoaded.length === 0 && k.modulesListed && Object.values(cap).every((m) => m !== null)) {
      return { status: STATUS.loaded, available: true, options, modulesNotLoaded: notLoaded };
    }
    return { status: STATUS.noConfig, available: null, options, modulesNotLoaded: notLoaded };
  }
  const states = Object.values(options);
  if (states.some((s) => s !== 'y' && s !== 'm')) return { status: STATUS.notBuilt, available: false, options, modulesNotLoaded: [] };
  if (states.every((s) => s === 'y')) return { status: STATUS.builtin, available: true, options, modulesNotLoaded: [] };
  if (notLoaded.length === 0) return { status: STATUS.loaded, available: true, options, modulesNotLoaded: [] };
  return { status: STATUS.notLoaded, available: null, options, modulesNotLoaded: notLoaded };
}

/**
 * What the booted system could load, for the guest clauses of an image
 * whose root vmspec cannot read: the module files of the running root
 * (collector's cmd/module-files, from /lib/modules/RELEASE), modules.builtin,
 * and whether that root is the initramfs itself (/proc/mounts: the last
 * mount on "/" is rootfs, tmpfs or ramfs), in which case every module file
 * it holds is one the initrd carries.
 */
export interface BootedModules {
  /** Module names (normalised) with a file in the running root's module tree; null when the evidence has no listing. */
  files: Set<string> | null;
  builtin: Set<string>;
  /** null when /proc/mounts is not in the evidence. */
  rootIsInitramfs: boolean | null;
}

export function bootedModules(t: Tracker): BootedModules {
  return t.derived('booted-modules', (s) => {
    const release = guestKernel(s).release;
    const listing = s.text('/cmd/module-files', 4 * 1024 * 1024);
    const files = listing === undefined ? null : new Set(listing.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => normaliseModule((l.split('/').pop() ?? '').replace(/\.ko(\.[a-z0-9]+)?$/, ''))));
    const builtinText = release ? s.text(`/lib/modules/${release}/modules.builtin`, 4 * 1024 * 1024) : undefined;
    const builtin = new Set((builtinText ?? '').split('\n').map((l) => l.trim()).filter(Boolean).map((l) => normaliseModule((l.split('/').pop() ?? '').replace(/\.ko$/, ''))));
    const mounts = s.text('/proc/mounts');
    let rootIsInitramfs: boolean | null = null;
    if (mounts !== undefined) {
      const onRoot = mounts.split('\n').map((l) => l.split(' ')).filter((f) => f[1] === '/');
      const last = onRoot[onRoot.length - 1];
      rootIsInitramfs = last === undefined ? null : ['rootfs', 'tmpfs', 'ramfs'].includes(last[2] ?? '');
    }
    return { files, builtin, rootIsInitramfs };
  });
}
