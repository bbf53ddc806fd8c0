import { UnsupportedError } from '../errors.js';
import type { Facts, Json, Probe, Schema } from '../types.js';
import { guestView, initrdFacts, kernelDetails, type InitrdFacts } from './guest.js';
import { lookupModule, normaliseModuleName } from './modules.js';

/**
 * `image.kernel-drivers`: for the kernel the image boots by default, what
 * its configuration says about each named option (=y built in, =m a module,
 * not set), whether the module file is installed, and whether it (with
 * every module it depends on) is in that kernel's initrd. The spec judges
 * which of these suffices: a console or interrupt controller must be built
 * in; "in the kernel or initrd" accepts built in or in the initrd.
 */

const nullableString = { type: ['string', 'null'] } as const;

const optionSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['state', 'value', 'line', 'lineNumber', 'module', 'moduleFile', 'moduleBuiltin', 'inInitrd', 'initrdPath', 'missingDeps', 'available'],
  properties: {
    state: { enum: ['y', 'm', 'n', 'value', 'absent'], description: 'y built in, m module, n "is not set", value a non-tristate value, absent not mentioned' },
    value: { ...nullableString, description: 'the text after "=" (null for "is not set" and absent)' },
    line: { ...nullableString, description: 'the config line, e.g. "CONFIG_VIRTIO_PCI=m"' },
    lineNumber: { type: ['integer', 'null'], description: '1-based line in the config file' },
    module: { ...nullableString, description: 'module name asked for (params), "-" folded to "_"' },
    moduleFile: { ...nullableString, description: 'the module file in the root filesystem (via modules.dep), null when absent' },
    moduleBuiltin: { type: 'boolean', description: 'modules.builtin lists the module' },
    inInitrd: { type: ['boolean', 'null'], description: 'the module and every module it depends on are in the initrd (null: not a module, or no module name given)' },
    initrdPath: { ...nullableString, description: 'the module inside the initrd' },
    missingDeps: { type: 'array', items: { type: 'string' }, description: 'dependencies (modules.dep) neither in the initrd nor built in' },
    available: {
      enum: ['builtin', 'initrd', 'module', 'missing'],
      description: 'builtin: =y; initrd: =m and loadable from the initrd; module: =m, only in the root filesystem; missing: not set, absent, or =m without the module file',
    },
  },
};

const kernelSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'image', 'config', 'initrd', 'modulesDir', 'selectedBy', 'why', 'configMissing', 'imageFormat', 'arch'],
  properties: {
    version: { ...nullableString, description: 'kernel release of the judged (default) kernel' },
    image: nullableString,
    config: { ...nullableString, description: 'the config file read' },
    initrd: nullableString,
    modulesDir: nullableString,
    selectedBy: { enum: ['bootloader', 'symlink', 'newest', 'only', null], description: 'how the default kernel was chosen' },
    why: { ...nullableString, description: 'the choice in words (bootloader entry, symlink, version order)' },
    configMissing: { ...nullableString, description: 'why there is no kernel configuration to judge (no kernel, no config file), or null' },
    imageFormat: { enum: ['arm64-image', 'efi-zboot', 'gzip', 'x86-bzimage', 'elf', 'unknown', null] },
    arch: { enum: ['arm64', 'x86', null] },
  },
};

export const rootfsSummarySchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['unreadable', 'partition', 'filesystem'],
  properties: {
    unreadable: { ...nullableString, description: 'why no root filesystem could be read (LVM, LUKS, xfs, none), or null' },
    partition: { type: ['integer', 'null'], description: 'partition holding the root (null: whole disk, or none)' },
    filesystem: { enum: ['ext2', 'ext3', 'ext4', 'btrfs', null] },
  },
};

export const kernelDriversProbe: Probe = {
  name: 'image.kernel-drivers',
  summary: "The default kernel's config state of named options (=y/=m/unset), module files, and initrd membership (gzip/zstd/xz cpio)",
  input: 'image',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['options'],
    properties: {
      options: {
        type: 'array',
        minItems: 1,
        maxItems: 32,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['config'],
          properties: {
            config: { type: 'string', pattern: '^CONFIG_[A-Z0-9_]+$', description: 'Kconfig symbol, e.g. CONFIG_VIRTIO_PCI' },
            module: { type: 'string', pattern: '^[a-z0-9_-]+$', description: 'module the option builds (for tristate options), e.g. virtio_pci' },
          },
        },
      },
    },
  },
  facts: {
    type: 'object',
    additionalProperties: false,
    required: ['rootfs', 'kernel', 'otherKernels', 'options', 'initrd'],
    properties: {
      rootfs: rootfsSummarySchema,
      kernel: kernelSchema,
      otherKernels: {
        type: 'array',
        description: 'kernels installed besides the judged one (not judged)',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['version', 'image', 'config', 'initrd'],
          properties: { version: { type: 'string' }, image: nullableString, config: nullableString, initrd: nullableString },
        },
      },
      options: { type: 'object', description: 'by Kconfig symbol (as in params)', additionalProperties: optionSchema },
      initrd: {
        type: ['object', 'null'],
        description: 'the judged kernel\'s initrd, when it was read (only when an option is =m)',
        additionalProperties: false,
        required: ['path', 'size', 'segments', 'entries', 'modules'],
        properties: {
          path: { type: 'string' },
          size: { type: 'integer' },
          segments: { type: 'array', items: { type: 'string' }, description: 'e.g. "cpio newc at 0", "zstd at 512"' },
          entries: { type: 'integer' },
          modules: { type: 'integer', description: 'kernel modules for this release inside' },
        },
      },
    },
  },
  async run(inputs, params) {
    if (!inputs.image) throw new UnsupportedError('image.kernel-drivers needs an image');
    const wanted = (params.options as { config: string; module?: string }[]) ?? [];
    const view = guestView(inputs.image, inputs.memo);
    const kernelFacts: { [k: string]: Json } = {
      version: null, image: null, config: null, initrd: null, modulesDir: null, selectedBy: null, why: null, configMissing: null, imageFormat: null, arch: null,
    };
    const facts: Facts = {
      rootfs: {
        unreadable: view.rootfs.unreadable,
        partition: view.root?.partition?.number ?? null,
        filesystem: view.root?.filesystem ?? null,
      },
      kernel: kernelFacts,
      otherKernels: [],
      options: {},
      initrd: null,
    };
    if (!view.root) {
      kernelFacts.configMissing = 'no readable root filesystem';
      return facts;
    }
    const dk = view.defaultKernel;
    if (!dk) {
      kernelFacts.configMissing = 'no kernel installed (no /boot/vmlinuz-*, no module tree under /lib/modules or /usr/lib/modules)';
      return facts;
    }
    const k = dk.kernel;
    facts.otherKernels = view.kernels.filter((x) => x !== k).map((x) => ({ version: x.version, image: x.image, config: x.config, initrd: x.initrd }));
    Object.assign(kernelFacts, { version: k.version, image: k.image, config: k.config, initrd: k.initrd, modulesDir: k.modulesDir, selectedBy: dk.selectedBy, why: dk.why });
    const details = kernelDetails(view.root, k, inputs.memo);
    kernelFacts.configMissing = details.configMissing;
    kernelFacts.imageFormat = details.image?.format ?? null;
    kernelFacts.arch = details.image?.arch ?? null;
    if (!details.config) return facts;
    const config = details.config;
    let initrd: InitrdFacts | null | undefined;
    const options: { [k: string]: Json } = {};
    for (const o of wanted) {
      const c = config.get(o.config);
      const module = o.module ? normaliseModuleName(o.module) : null;
      const entry: { [k: string]: Json } = {
        state: c.state, value: c.value, line: c.line, lineNumber: c.lineNumber, module,
        moduleFile: null, moduleBuiltin: false, inInitrd: null, initrdPath: null, missingDeps: [], available: 'missing',
      };
      options[o.config] = entry;
      const look = module && details.modules ? lookupModule(view.root.fs, details.modules, module) : null;
      if (look) {
        entry.moduleFile = look.file;
        entry.moduleBuiltin = look.builtin;
      }
      if (c.state === 'y') {
        entry.available = 'builtin';
        continue;
      }
      if (c.state !== 'm') continue;
      if (!module) {
        // A module without a name to look for: present as far as the config says.
        entry.available = 'module';
        continue;
      }
      if (!look?.file) continue; // =m but the module file is not installed: missing.
      entry.available = 'module';
      if (initrd === undefined) initrd = await initrdFacts(view.root, k, inputs.memo);
      if (!initrd) {
        entry.inInitrd = false;
        continue;
      }
      const inside = initrd.modules.get(module);
      entry.initrdPath = inside?.path ?? null;
      const builtin = details.modules?.builtin;
      const missingDeps = look.deps.filter((d) => !initrd!.modules.has(d) && !(builtin?.has(d) ?? false));
      entry.missingDeps = missingDeps;
      entry.inInitrd = Boolean(inside) && missingDeps.length === 0;
      if (entry.inInitrd) entry.available = 'initrd';
    }
    facts.options = options;
    if (initrd) {
      facts.initrd = {
        path: initrd.path,
        size: initrd.size,
        segments: initrd.listing.segments.map((s) => (s.compression ? `${s.compression} at ${s.offset}` : `cpio ${s.format ?? ''} at ${s.offset}`)),
        entries: initrd.listing.entries.length,
        modules: initrd.modules.size,
      };
    }
    return facts;
  },
};
