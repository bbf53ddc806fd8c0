import { hex } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';
import { asByteSource, type ByteSource } from '../../bytes/byte-source.js';

/**
 * PE/COFF image headers (Microsoft "PE Format"; UEFI 2.6 §2.1.1 says UEFI
 * images are PE32+ with subsystem 10..13). Reads a prefix of a file and
 * reports facts; a file that is not a PE image is a reading with
 * valid:false and its problems, never a throw.
 */
import { arr, bool, enumOf, type Exactly, type FactsOf, int, nint, nstr, obj, str } from '../facts-schema.js';

/** PE Format "Machine Types" (IMAGE_FILE_MACHINE_*); names are the constants without the prefix. */
export const MACHINE_NAMES: Readonly<Record<number, string>> = {
  0x0000: 'UNKNOWN',
  0x014c: 'I386',
  0x0166: 'R4000',
  0x01c0: 'ARM',
  0x01c2: 'THUMB',
  0x01c4: 'ARMNT',
  0x0200: 'IA64',
  0x0ebc: 'EBC',
  0x5032: 'RISCV32',
  0x5064: 'RISCV64',
  0x5128: 'RISCV128',
  0x6232: 'LOONGARCH32',
  0x6264: 'LOONGARCH64',
  0x8664: 'AMD64',
  0xa641: 'ARM64EC',
  0xa64e: 'ARM64X',
  0xaa64: 'ARM64',
};

/** PE Format "Windows Subsystem" (IMAGE_SUBSYSTEM_*); 10..13 are the UEFI ones. */
export const SUBSYSTEM_NAMES: Readonly<Record<number, string>> = {
  0: 'UNKNOWN',
  1: 'NATIVE',
  2: 'WINDOWS_GUI',
  3: 'WINDOWS_CUI',
  5: 'OS2_CUI',
  7: 'POSIX_CUI',
  8: 'NATIVE_WINDOWS',
  9: 'WINDOWS_CE_GUI',
  10: 'EFI_APPLICATION',
  11: 'EFI_BOOT_SERVICE_DRIVER',
  12: 'EFI_RUNTIME_DRIVER',
  13: 'EFI_ROM',
  14: 'XBOX',
  16: 'WINDOWS_BOOT_APPLICATION',
};

/** PE Format "Section Table": the Windows loader refuses more than 96 sections; so do we (for listing). */
export const MAX_SECTIONS = 96;
/** What a caller should read to see the headers of any sane image (headers live in SizeOfHeaders, usually ≤ 4 KiB). */
export const PE_HEADER_READ = 64 * 1024;

export type PeSection = {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
};

/** Facts about a PE image. Plain JSON (type aliases, so it is assignable to Json). */
export type PeReading = {
  /** MZ, PE signature, COFF header and an optional header with a known Magic were all read. */
  valid: boolean;
  problems: string[];
  e_lfanew: number | null;
  /** Optional header Magic: 0x10B PE32, 0x20B PE32+. */
  magic: 'PE32' | 'PE32+' | null;
  machine: number | null;
  machineName: string | null;
  numberOfSections: number | null;
  sizeOfOptionalHeader: number | null;
  characteristics: number | null;
  subsystem: number | null;
  subsystemName: string | null;
  addressOfEntryPoint: number | null;
  /** Hex string: a PE32+ ImageBase is 64-bit and may not fit a JSON number. */
  imageBase: string | null;
  sectionAlignment: number | null;
  fileAlignment: number | null;
  sizeOfImage: number | null;
  sizeOfHeaders: number | null;
  dllCharacteristics: number | null;
  numberOfRvaAndSizes: number | null;
  sections: PeSection[];
};

/** JSON Schema of PeReading's properties, for probes that embed it in their facts (`obj` or `nobj`). */
export const peReadingProps = {
  valid: bool('MZ, PE signature, COFF header and a PE32/PE32+ optional header were read'),
  problems: arr(str()),
  e_lfanew: nint('file offset of the PE signature'),
  magic: enumOf(['PE32', 'PE32+', null], 'optional header Magic (0x10B / 0x20B)'),
  machine: nint('COFF Machine, e.g. 43620 (0xAA64)'),
  machineName: nstr('IMAGE_FILE_MACHINE_ name without prefix: ARM64, ARMNT, THUMB, AMD64, I386, RISCV64…'),
  numberOfSections: nint(),
  sizeOfOptionalHeader: nint(),
  characteristics: nint('COFF Characteristics flags'),
  subsystem: nint('10 EFI application, 11 boot service driver, 12 runtime driver, 13 EFI ROM'),
  subsystemName: nstr('IMAGE_SUBSYSTEM_ name without prefix: EFI_APPLICATION…'),
  addressOfEntryPoint: nint(),
  imageBase: nstr('hex, e.g. "0x0"'),
  sectionAlignment: nint(),
  fileAlignment: nint(),
  sizeOfImage: nint(),
  sizeOfHeaders: nint(),
  dllCharacteristics: nint(),
  numberOfRvaAndSizes: nint(),
  sections: arr(obj({
    name: str(),
    virtualSize: int(),
    virtualAddress: int(),
    sizeOfRawData: int(),
    pointerToRawData: int(),
    characteristics: int(),
  }), { maxItems: MAX_SECTIONS }),
};
export const peReadingSchema = obj(peReadingProps);

/** The PeReading type is what its schema describes: a compile error otherwise. */
const readingMatchesSchema: Exactly<PeReading, FactsOf<typeof peReadingSchema>> = true;
void readingMatchesSchema;

function emptyReading(): PeReading {
  return {
    valid: false, problems: [], e_lfanew: null, magic: null, machine: null, machineName: null, numberOfSections: null,
    sizeOfOptionalHeader: null, characteristics: null, subsystem: null, subsystemName: null, addressOfEntryPoint: null,
    imageBase: null, sectionAlignment: null, fileAlignment: null, sizeOfImage: null, sizeOfHeaders: null,
    dllCharacteristics: null, numberOfRvaAndSizes: null, sections: [],
  };
}

/**
 * Read PE headers from `bytes`, the first bytes of a file of `fileSize`
 * bytes (defaults to bytes.length: the whole file). Structures beyond the
 * bytes given are reported as problems, distinguishing "past the end of
 * the file" from "beyond what was read".
 */
export function readPe(bytes: Uint8Array, fileSize: number = bytes.length): PeReading {
  const r = emptyReading();
  const v = new LeReader(bytes, 'PE image');
  /** Whether [off, off+len) can be read; if not, records why under `what`. */
  const have = (off: number, len: number, what: string): boolean => {
    if (off >= 0 && off + len <= bytes.length) return true;
    r.problems.push(off + len > fileSize
      ? `${what} (${len} bytes at offset ${off}) lies past the end of the ${fileSize}-byte file`
      : `${what} (${len} bytes at offset ${off}) lies beyond the first ${bytes.length} bytes examined`);
    return false;
  };
  const u16 = (o: number) => v.u16(o);
  const u32 = (o: number) => v.u32(o);

  // PE Format "MS-DOS Stub": e_magic "MZ" at 0, e_lfanew (u32) at 0x3C.
  if (!have(0, 2, 'e_magic')) return r;
  if (u16(0) !== 0x5a4d) {
    r.problems.push(`e_magic is ${hex(u16(0), 4)}, not "MZ" (0x5A4D): not a PE image`);
    return r;
  }
  if (!have(0, 0x40, 'MS-DOS header')) return r;
  const lfanew = u32(0x3c);
  r.e_lfanew = lfanew;
  if (lfanew < 0x40) r.problems.push(`e_lfanew ${lfanew} points inside the MS-DOS header`);
  if (lfanew % 8 !== 0) r.problems.push(`e_lfanew ${lfanew} is not 8-byte aligned`);
  // PE Format "Signature (Image Only)" then "COFF File Header (Object and Image)" (20 bytes).
  if (!have(lfanew, 24, 'PE signature and COFF file header')) return r;
  if (u32(lfanew) !== 0x00004550) {
    r.problems.push(`signature at e_lfanew ${lfanew} is not "PE\\0\\0": an MS-DOS executable, not a PE image`);
    return r;
  }
  const coff = lfanew + 4;
  r.machine = u16(coff);
  r.machineName = MACHINE_NAMES[r.machine] ?? null;
  r.numberOfSections = u16(coff + 2);
  r.sizeOfOptionalHeader = u16(coff + 16);
  r.characteristics = u16(coff + 18);
  if (r.machineName === null) r.problems.push(`Machine ${hex(r.machine)} is not a known machine type`);
  // IMAGE_FILE_EXECUTABLE_IMAGE: a linked image, as firmware requires.
  if ((r.characteristics & 0x0002) === 0) r.problems.push('Characteristics lacks IMAGE_FILE_EXECUTABLE_IMAGE (0x0002)');

  // PE Format "Optional Header (Image Only)": standard fields, Windows-specific fields, data directories.
  const opt = coff + 20;
  if (r.sizeOfOptionalHeader < 2) {
    r.problems.push(`SizeOfOptionalHeader is ${r.sizeOfOptionalHeader}: an object file, not an image`);
    return r;
  }
  if (!have(opt, 2, 'optional header Magic')) return r;
  const magic = u16(opt);
  if (magic !== 0x10b && magic !== 0x20b) {
    r.problems.push(`optional header Magic is ${hex(magic)}, neither 0x10B (PE32) nor 0x20B (PE32+)`);
    return r;
  }
  const plus = magic === 0x20b;
  r.magic = plus ? 'PE32+' : 'PE32';
  // Windows-specific fields end at 96 (PE32) or 112 (PE32+), where the data directories begin.
  const fixedSize = plus ? 112 : 96;
  if (r.sizeOfOptionalHeader < fixedSize) {
    r.problems.push(`SizeOfOptionalHeader ${r.sizeOfOptionalHeader} is smaller than the ${fixedSize} bytes of a ${r.magic} optional header`);
    return r;
  }
  if (!have(opt, fixedSize, `${r.magic} optional header`)) return r;
  r.addressOfEntryPoint = u32(opt + 16);
  r.imageBase = plus
    ? hex(v.u64(opt + 24))
    : hex(u32(opt + 28));
  r.sectionAlignment = u32(opt + 32);
  r.fileAlignment = u32(opt + 36);
  r.sizeOfImage = u32(opt + 56);
  r.sizeOfHeaders = u32(opt + 60);
  r.subsystem = u16(opt + 68);
  r.subsystemName = SUBSYSTEM_NAMES[r.subsystem] ?? null;
  r.dllCharacteristics = u16(opt + 70);
  r.numberOfRvaAndSizes = u32(opt + (plus ? 108 : 92));
  r.valid = true;

  if (r.subsystemName === null) r.problems.push(`Subsystem ${r.subsystem} is not a known subsystem`);
  const dirBytes = r.sizeOfOptionalHeader - fixedSize;
  if (r.numberOfRvaAndSizes * 8 > dirBytes) {
    r.problems.push(`NumberOfRvaAndSizes ${r.numberOfRvaAndSizes} needs ${r.numberOfRvaAndSizes * 8} bytes but the optional header leaves ${dirBytes}`);
  }
  if (r.addressOfEntryPoint >= r.sizeOfImage && r.sizeOfImage > 0) {
    r.problems.push(`AddressOfEntryPoint ${hex(r.addressOfEntryPoint)} is outside SizeOfImage ${hex(r.sizeOfImage)}`);
  }
  if (r.sizeOfHeaders > fileSize) r.problems.push(`SizeOfHeaders ${r.sizeOfHeaders} exceeds the file size ${fileSize}`);

  // PE Format "Section Table (Section Headers)": 40 bytes each, right after the optional header.
  const table = opt + r.sizeOfOptionalHeader;
  const count = Math.min(r.numberOfSections, MAX_SECTIONS);
  if (r.numberOfSections > MAX_SECTIONS) r.problems.push(`NumberOfSections ${r.numberOfSections} exceeds ${MAX_SECTIONS}; listing the first ${MAX_SECTIONS}`);
  for (let i = 0; i < count; i++) {
    const s = table + i * 40;
    if (!have(s, 40, `section header ${i}`)) break;
    const rawName = bytes.subarray(s, s + 8);
    const end = rawName.indexOf(0);
    const section: PeSection = {
      name: Array.from(end >= 0 ? rawName.subarray(0, end) : rawName, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '\uFFFD')).join(''),
      virtualSize: u32(s + 8),
      virtualAddress: u32(s + 12),
      sizeOfRawData: u32(s + 16),
      pointerToRawData: u32(s + 20),
      characteristics: u32(s + 36),
    };
    if (section.sizeOfRawData > 0 && section.pointerToRawData + section.sizeOfRawData > fileSize) {
      r.problems.push(`section "${section.name}" raw data (${section.sizeOfRawData} bytes at ${section.pointerToRawData}) runs past the end of the ${fileSize}-byte file`);
    }
    r.sections.push(section);
  }
  return r;
}

/** Longest section name read from the COFF string table: binutils writes ".vendor_cert", ".sbatlevel", ".debug_*". */
const MAX_LONG_NAME = 64;

/**
 * Section names as the linker meant them. PE Format "Section Table":
 * a name "/N" is offset N into the COFF string table, which follows the
 * symbol table (PointerToSymbolTable + NumberOfSymbols × 18, its first
 * 4 bytes its size). Images are not supposed to use it, but GNU ld
 * writes one anyway (shim's .vendor_cert and .sbatlevel are found only
 * there). `file` is the whole file (in memory or as ranges); a name that cannot be resolved stays
 * "/N".
 */
export function resolvedSectionNames(file: Uint8Array | ByteSource, pe: PeReading): string[] {
  const names = pe.sections.map((s) => s.name);
  if (!pe.valid || pe.e_lfanew === null || !names.some((n) => /^\/\d+$/.test(n))) return names;
  const src = asByteSource(file, 'PE image');
  const coff = pe.e_lfanew + 4;
  if (coff + 20 > src.size) return names;
  const v = new LeReader(src.read(coff, 20), 'PE image');
  const pointerToSymbolTable = v.u32(8);
  const numberOfSymbols = v.u32(12);
  const table = pointerToSymbolTable + numberOfSymbols * 18;
  if (pointerToSymbolTable === 0 || table + 4 > src.size) return names;
  const tableSize = Math.min(new LeReader(src.read(table, 4), 'PE string table').u32(0), src.size - table);
  return names.map((n) => {
    const m = /^\/(\d{1,8})$/.exec(n);
    if (!m) return n;
    const at = Number(m[1]);
    if (at < 4 || at >= tableSize) return n;
    const bytes = src.read(table + at, Math.min(tableSize, at + MAX_LONG_NAME) - at);
    const end = bytes.indexOf(0);
    if (end <= 0) return n;
    return Array.from(bytes.subarray(0, end), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '\uFFFD')).join('');
  });
}
