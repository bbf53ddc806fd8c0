import { isReadError } from '../errors.js';
import { defineProbe, type Facts } from '../types.js';
import { openEsp } from './esp.js';
import { PE_HEADER_READ, peReadingSchema, readPe } from './pe.js';

/**
 * `image.boot-file`: does a file exist on the ESP (looked up
 * case-insensitively, as UEFI's FAT driver does), and what PE/COFF image
 * is it? UEFI 2.6 §3.5.1.1 names the removable-media path
 * \EFI\BOOT\BOOTAA64.EFI for AArch64; §2.1.1 says what such an image is.
 */

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
  facts: {
    type: 'object',
    additionalProperties: false,
    required: ['espFound', 'path', 'required', 'found', 'kind', 'storedPath', 'size', 'pe', 'problems'],
    properties: {
      espFound: { type: 'boolean', description: 'an ESP-type partition exists' },
      path: { type: 'string', description: 'the path asked for' },
      required: { type: 'boolean' },
      found: { type: 'boolean' },
      kind: { enum: ['file', 'directory', null] },
      storedPath: { type: ['string', 'null'], description: 'the names as stored on disk, e.g. \\EFI\\Boot\\bootaa64.efi' },
      size: { type: ['integer', 'null'], description: 'DIR_FileSize' },
      // Nullable by `type`, not anyOf, so `pe.machineName` resolves through `properties` for spec lint.
      pe: { ...peReadingSchema, type: ['object', 'null'], description: 'PE/COFF header facts of a file; null for a directory, when not found, or when unreadable' },
      problems: { type: 'array', items: { type: 'string' }, description: 'why the ESP or the file could not be read' },
    },
  },
  run(inputs, params) {
    if (!inputs.image) throw new Error('image.boot-file needs an image');
    const path = String(params.path);
    const facts: Facts = {
      espFound: false, path, required: params.required !== false, found: false, kind: null,
      storedPath: null, size: null, pe: null, problems: [],
    };
    const problems: string[] = [];
    facts.problems = problems;
    const esp = openEsp(inputs.image, inputs.memo);
    facts.espFound = esp.partition !== null;
    if (!esp.partition) return facts;
    if (!esp.volume) {
      problems.push(`ESP partition ${esp.partition.number} is not a readable FAT volume: ${esp.error ?? 'unknown reason'}`);
      return facts;
    }
    try {
      const node = esp.volume.lookup(path);
      if (!node) return facts;
      facts.found = true;
      facts.kind = node.kind;
      facts.storedPath = node.storedPath;
      if (node.kind === 'file' && node.entry) {
        facts.size = node.entry.size;
        const head = esp.volume.readFile(node.entry, PE_HEADER_READ);
        facts.pe = readPe(head, node.entry.size);
      }
    } catch (e) {
      if (!isReadError(e)) throw e;
      problems.push(e.message);
    }
    return facts;
  },
});
