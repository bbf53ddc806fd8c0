import { isReadError } from '../../bytes/errors.js';
import { arr, bool, enumOf, type FactsOf, nint, nobj, nstr, obj, str } from '../facts-schema.js';
import { defineProbe } from '../types.js';
import { openEsp } from './esp.js';
import { PE_HEADER_READ, peReadingProps, readPe } from './pe.js';

/**
 * `image.boot-file`: does a file exist on the ESP (looked up
 * case-insensitively, as UEFI's FAT driver does), and what PE/COFF image
 * is it? UEFI 2.6 §3.5.1.1 names the removable-media path
 * \EFI\BOOT\BOOTAA64.EFI for AArch64; §2.1.1 says what such an image is.
 */

const facts = obj({
  espFound: bool('an ESP-type partition exists'),
  path: str('the path asked for'),
  required: bool(),
  found: bool(),
  kind: enumOf(['file', 'directory', null]),
  storedPath: nstr('the names as stored on disk, e.g. \\EFI\\Boot\\bootaa64.efi'),
  size: nint('DIR_FileSize'),
  // Nullable by `type`, not anyOf, so `pe.machineName` resolves through `properties` for spec lint.
  pe: nobj(peReadingProps, 'PE/COFF header facts of a file; null for a directory, when not found, or when unreadable'),
  problems: arr(str(), 'why the ESP or the file could not be read'),
  removableMedia: obj({
    aarch64: bool('a file at \\EFI\\BOOT\\BOOTAA64.EFI'),
    aarch32: bool('a file at \\EFI\\BOOT\\BOOTARM.EFI'),
  }, 'which removable-media boot files the ESP holds (UEFI 2.6 §3.5.1.1), whatever path was asked for'),
  aarch32Only: bool('BOOTARM.EFI is there and BOOTAA64.EFI is not: an AArch32 image, judged by the AArch32 rules'),
});

/** UEFI 2.6 §3.5.1.1, Table 13: the removable-media file names of the two Arm architectures. */
const REMOVABLE_AARCH64 = '\\EFI\\BOOT\\BOOTAA64.EFI';
const REMOVABLE_AARCH32 = '\\EFI\\BOOT\\BOOTARM.EFI';

export const bootFileProbe = defineProbe({
  name: 'image.boot-file',
  summary: 'Looks a path up on the ESP (case-insensitively) and reads the PE/COFF headers of the file found',
  input: 'image',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: {
      path: { type: 'string', minLength: 1, description: 'ESP path, "\\" or "/" separated, e.g. \\EFI\\BOOT\\BOOTAA64.EFI' },
      required: { type: 'boolean', default: true, description: 'whether the requirement demands the file; echoed in the facts, never changes what is read' },
    },
  },
  facts,
  run(inputs, params) {
    if (!inputs.image) throw new Error('image.boot-file needs an image');
    const path = String(params.path);
    const out: FactsOf<typeof facts> = {
      espFound: false, path, required: params.required !== false, found: false, kind: null,
      storedPath: null, size: null, pe: null, problems: [],
      removableMedia: { aarch64: false, aarch32: false }, aarch32Only: false,
    };
    const problems: string[] = [];
    out.problems = problems;
    const esp = openEsp(inputs.image, inputs.memo);
    out.espFound = esp.partition !== null;
    if (!esp.partition) return out;
    if (!esp.volume) {
      problems.push(`ESP partition ${esp.partition.number} is not a readable FAT volume: ${esp.error ?? 'unknown reason'}`);
      return out;
    }
    try {
      const isFile = (p: string) => esp.volume?.lookup(p)?.kind === 'file';
      out.removableMedia = { aarch64: isFile(REMOVABLE_AARCH64), aarch32: isFile(REMOVABLE_AARCH32) };
      out.aarch32Only = out.removableMedia.aarch32 && !out.removableMedia.aarch64;
      const node = esp.volume.lookup(path);
      if (!node) return out;
      out.found = true;
      out.kind = node.kind;
      out.storedPath = node.storedPath;
      if (node.kind === 'file' && node.entry) {
        out.size = node.entry.size;
        const head = esp.volume.readFile(node.entry, PE_HEADER_READ);
        out.pe = readPe(head, node.entry.size);
      }
    } catch (e) {
      if (!isReadError(e)) throw e;
      problems.push(e.message);
    }
    return out;
  },
});
