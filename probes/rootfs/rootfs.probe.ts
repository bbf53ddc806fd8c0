import { UnsupportedError } from '../errors.js';
import { FsError, type ReadOnlyFilesystem } from '../fs/filesystem.js';
import type { Facts, Json, Probe, Schema } from '../types.js';
import { cloudInitFacts } from './cloud-init.js';
import { guestView, kernelDetails } from './guest.js';
import { dashedUuid } from './volumes.js';

/**
 * `image.rootfs`: the guest OS as its files show it. Which partition holds
 * the root (and why others do not), the OS release, the installed kernels,
 * the default one and how it was chosen, the default boot entry and its
 * kernel command line (console= settings), and whether cloud-init is
 * installed and enabled (what `vmspec boot` needs for its NoCloud path).
 */

const nullableString = { type: ['string', 'null'] } as const;
const strings = { type: 'array', items: { type: 'string' } } as const;

const bootFileSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'device', 'exists'],
  properties: { path: { type: 'string' }, device: nullableString, exists: { type: 'boolean' } },
};

export const rootfsProbe: Probe = {
  name: 'image.rootfs',
  summary: 'Root filesystem, OS release, installed kernels, the default kernel and boot entry (command line, consoles), cloud-init state',
  input: 'image',
  params: { type: 'object', additionalProperties: false, properties: {} },
  facts: {
    type: 'object',
    additionalProperties: false,
    required: ['rootfs', 'os', 'kernels', 'defaultKernel', 'boot', 'cmdlineDefaults', 'cloudInit'],
    properties: {
      rootfs: {
        type: 'object',
        additionalProperties: false,
        required: ['readable', 'unreadable', 'partition', 'logicalVolume', 'filesystem', 'uuid', 'label', 'needsRecovery', 'metadataCrc', 'scanned'],
        properties: {
          readable: { type: 'boolean' },
          unreadable: { ...nullableString, description: 'why no root filesystem could be read, or null' },
          partition: { type: ['integer', 'null'], description: 'the root\'s partition (for an LVM2 logical volume, its first physical volume\'s)' },
          logicalVolume: {
            type: ['object', 'null'],
            description: 'the LVM2 logical volume holding the root, or null',
            additionalProperties: false,
            required: ['name', 'mapperName'],
            properties: { name: { type: 'string', description: 'VG/LV' }, mapperName: { type: 'string', description: '/dev/mapper/VG-LV' } },
          },
          filesystem: { enum: ['ext2', 'ext3', 'ext4', 'xfs', null] },
          uuid: nullableString,
          label: nullableString,
          needsRecovery: { type: ['boolean', 'null'], description: 'the ext4 journal holds unreplayed transactions, or the xfs log is dirty (read as on disk, not replayed)' },
          metadataCrc: {
            type: ['object', 'null'],
            description: 'xfs v5: metadata CRCs (superblock, inodes, bmap btree, directory and symlink blocks) this run checked and how many did not match; null where the reader does not check them',
            additionalProperties: false,
            required: ['checked', 'failed'],
            properties: { checked: { type: 'integer' }, failed: { type: 'integer' } },
          },
          scanned: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['partition', 'logicalVolume', 'typeName', 'filesystem', 'note'],
              properties: {
                partition: { type: ['integer', 'null'] },
                logicalVolume: { ...nullableString, description: 'VG/LV for a logical volume on the LVM2 physical volume `partition`' },
                typeName: nullableString, filesystem: nullableString, note: nullableString,
              },
            },
          },
        },
      },
      os: {
        type: ['object', 'null'],
        additionalProperties: false,
        required: ['id', 'versionId', 'prettyName'],
        properties: { id: nullableString, versionId: nullableString, prettyName: nullableString },
        description: '/etc/os-release (or /usr/lib/os-release)',
      },
      kernels: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['version', 'image', 'config', 'initrd', 'modulesDir', 'imageFormat', 'arch'],
          properties: {
            version: { type: 'string' }, image: nullableString, config: nullableString, initrd: nullableString, modulesDir: nullableString,
            imageFormat: nullableString, arch: nullableString,
          },
        },
      },
      defaultKernel: {
        type: ['object', 'null'],
        additionalProperties: false,
        required: ['version', 'selectedBy', 'why'],
        properties: { version: { type: 'string' }, selectedBy: { enum: ['bootloader', 'symlink', 'newest', 'only'] }, why: { type: 'string' } },
      },
      boot: {
        type: ['object', 'null'],
        description: 'the default boot entry that loads a kernel from the root',
        additionalProperties: false,
        required: ['source', 'title', 'definedIn', 'chosenBy', 'linux', 'initrds', 'cmdline', 'consoles'],
        properties: {
          source: { enum: ['removable-path', 'root-grub-cfg'], description: 'followed from \\EFI\\BOOT\\BOOTAA64.EFI, or read from the root\'s /boot/grub/grub.cfg' },
          title: { type: 'string' },
          definedIn: { type: 'string' },
          chosenBy: { type: 'string' },
          linux: bootFileSchema,
          initrds: { type: 'array', items: bootFileSchema },
          cmdline: { type: 'string' },
          consoles: { ...strings, description: 'console= values, in order (the last is /dev/console)' },
        },
      },
      cmdlineDefaults: {
        type: 'object',
        additionalProperties: false,
        required: ['grubCmdlineLinux', 'grubCmdlineLinuxDefault', 'kernelCmdline'],
        properties: {
          grubCmdlineLinux: { ...nullableString, description: 'GRUB_CMDLINE_LINUX in /etc/default/grub' },
          grubCmdlineLinuxDefault: { ...nullableString, description: 'GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub' },
          kernelCmdline: { ...nullableString, description: '/etc/kernel/cmdline (kernel-install, UKIs)' },
        },
      },
      cloudInit: {
        type: ['object', 'null'],
        additionalProperties: false,
        required: ['installed', 'evidence', 'version', 'enabled', 'disabledBy', 'units', 'datasources', 'noCloud'],
        properties: {
          installed: { type: 'boolean' },
          evidence: strings,
          version: nullableString,
          enabled: { type: 'boolean' },
          disabledBy: strings,
          units: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'wantedBy', 'masked'],
              properties: { name: { type: 'string' }, wantedBy: strings, masked: { type: 'boolean' } },
            },
          },
          datasources: { type: ['array', 'null'], items: { type: 'string' } },
          noCloud: { type: 'boolean' },
        },
      },
    },
  },
  run(inputs) {
    if (!inputs.image) throw new UnsupportedError('image.rootfs needs an image');
    const view = guestView(inputs.image, inputs.memo);
    const root = view.root;
    const facts: Facts = {
      rootfs: {
        readable: root !== null,
        unreadable: view.rootfs.unreadable,
        partition: root?.partition?.number ?? null,
        logicalVolume: root?.logicalVolume ? { name: root.logicalVolume.fullName, mapperName: root.logicalVolume.mapperName } : null,
        filesystem: root?.filesystem ?? null,
        uuid: root ? dashedUuid(root.fs.info.uuid) : null,
        label: root ? root.fs.info.label || null : null,
        needsRecovery: root ? root.fs.info.needsRecovery : null,
        metadataCrc: null,
        scanned: view.rootfs.scanned.map((s) => ({ partition: s.number, logicalVolume: s.logicalVolume, typeName: s.typeName, filesystem: s.filesystem, note: s.note })),
      },
      os: null,
      kernels: [],
      defaultKernel: null,
      boot: null,
      cmdlineDefaults: { grubCmdlineLinux: null, grubCmdlineLinuxDefault: null, kernelCmdline: null },
      cloudInit: null,
    };
    if (!root) return facts;
    const fs = root.fs;
    facts.os = osRelease(fs);
    facts.kernels = view.kernels.map((k) => {
      const d = kernelDetails(root, k, inputs.memo);
      return { version: k.version, image: k.image, config: k.config, initrd: k.initrd, modulesDir: k.modulesDir, imageFormat: d.image?.format ?? null, arch: d.image?.arch ?? null };
    });
    const dk = view.defaultKernel;
    facts.defaultKernel = dk ? { version: dk.kernel.version, selectedBy: dk.selectedBy, why: dk.why } : null;
    const b = view.boot;
    let args: string[] | null = null;
    if (b?.linux && view.bootSource) {
      args = b.linux.args;
      const file = (f: { path: string; device: string | null; exists: boolean }): Json => ({ path: f.path, device: f.device, exists: f.exists });
      facts.boot = {
        source: view.bootSource, title: b.title, definedIn: b.source, chosenBy: b.chosenBy, linux: file(b.linux), initrds: b.initrds.map(file),
        cmdline: args.join(' '), consoles: consoles(args),
      };
    }
    const grub = readText(fs, '/etc/default/grub');
    facts.cmdlineDefaults = {
      grubCmdlineLinux: grub ? shellVar(grub, 'GRUB_CMDLINE_LINUX') : null,
      grubCmdlineLinuxDefault: grub ? shellVar(grub, 'GRUB_CMDLINE_LINUX_DEFAULT') : null,
      kernelCmdline: readText(fs, '/etc/kernel/cmdline')?.trim() ?? null,
    };
    const ci = cloudInitFacts(fs, args);
    facts.cloudInit = { ...ci, units: ci.units.map((u) => ({ ...u })) };
    // Counted last, so the reads above are included.
    if (fs.type === 'xfs' && fs.info.version === 5) (facts.rootfs as { [k: string]: Json }).metadataCrc = { checked: fs.info.crc.checked, failed: fs.info.crc.failed };
    return facts;
  },
};

/** console= values of a kernel command line, in order. */
export function consoles(args: string[]): string[] {
  return args.filter((a) => a.startsWith('console=')).map((a) => a.slice('console='.length));
}

function readText(fs: ReadOnlyFilesystem, path: string): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: false }).decode(fs.readFile(path, { maxBytes: 1024 * 1024, truncate: true }));
  } catch (e) {
    if (e instanceof FsError) return null;
    throw e;
  }
}

/** The last assignment of a shell variable in a sourced file (quotes removed). */
export function shellVar(text: string, name: string): string | null {
  let value: string | null = null;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^\\s*(?:export\\s+)?${name}=(.*)$`).exec(line);
    if (!m) continue;
    let v = m[1]!.trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    value = v;
  }
  return value;
}

function osRelease(fs: ReadOnlyFilesystem): { [k: string]: Json } | null {
  const text = readText(fs, '/etc/os-release') ?? readText(fs, '/usr/lib/os-release');
  if (text === null) return null;
  return { id: shellVar(text, 'ID'), versionId: shellVar(text, 'VERSION_ID'), prettyName: shellVar(text, 'PRETTY_NAME') };
}
