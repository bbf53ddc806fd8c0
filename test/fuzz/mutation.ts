import fc from 'fast-check';

/**
 * Mutations of a real fixture, as plain JSON: a failing case is saved as
 * the seed's name plus this list, so it replays exactly (and stays small
 * even when the seed is a multi-megabyte disk image).
 */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  /** Keep only the first `length` bytes. */
  | { kind: 'truncate'; length: number }
  /**
   * Overwrite an integer field; `value` is a decimal string (64-bit values
   * do not fit a JSON number). `octal`: ASCII octal digits, NUL-terminated,
   * as tar writes its numbers.
   */
  | { kind: 'field'; at: number; width: number; endian: Endian; value: string };

export type Endian = 'le' | 'be' | 'octal';

/** One fuzz input: a mutated seed, or bytes from nowhere. */
export type FuzzCase =
  | { seed: string; mutations: Mutation[]; /** Re-seal checksums after mutating (see FuzzTarget.fixup). */ fixup: boolean }
  | { random: string /* hex */ };

/** An integer field of a seed: where lengths, counts and offsets live. Mutations aim here a third of the time. */
export interface Field {
  at: number;
  width: number;
  endian: Endian;
  /** Values that matter for this field beyond the boundaries (a cluster already in the chain, the strings block size). */
  values?: bigint[];
  /** For the failure report only ("GPT NumberOfPartitionEntries"). */
  name?: string;
}

export interface Seed {
  name: string;
  bytes: Uint8Array;
  fields?: Field[];
  /** [start, length] ranges holding metadata; byte mutations favour them. */
  hot?: [number, number][];
}

/** Boundary values for a field of `width` bytes in a `size`-byte input: the ones that break length arithmetic. */
export function boundaryValues(width: number, size: number, endian: Endian = 'le'): bigint[] {
  const bits = endian === 'octal' ? BigInt((width - 1) * 3) : BigInt(width * 8);
  const max = (1n << bits) - 1n;
  const out = new Set<bigint>([0n, 1n, max, 1n << (bits - 1n), (1n << (bits - 1n)) - 1n, max - 1n]);
  if (bits >= 32n) {
    for (const v of [0xffffffffn, 0x80000000n, 0x7fffffffn, BigInt(size) - 1n, BigInt(size), BigInt(size) + 1n, BigInt(size) * 2n]) {
      if (v >= 0n && v <= max) out.add(v);
    }
  }
  if (bits >= 64n) for (const v of [1n << 53n, (1n << 53n) - 1n, 1n << 63n]) out.add(v);
  return [...out];
}

/** Apply mutations to a copy of `bytes` (the seed is never modified). Offsets past the end are skipped. */
export function applyMutations(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = bytes.slice();
  for (const m of mutations) {
    if (m.kind === 'truncate') {
      out = out.slice(0, Math.min(out.length, m.length));
      continue;
    }
    if (m.kind === 'flip') {
      if (m.at < out.length) out[m.at] = (out[m.at] ?? 0) ^ (1 << (m.bit & 7));
      continue;
    }
    if (m.kind === 'set') {
      if (m.at < out.length) out[m.at] = m.value & 0xff;
      continue;
    }
    if (m.at + m.width > out.length) continue;
    if (m.endian === 'octal') {
      const digits = BigInt(m.value).toString(8).padStart(m.width - 1, '0').slice(-(m.width - 1));
      out.set(Buffer.from(`${digits}\0`, 'latin1'), m.at);
      continue;
    }
    let v = BigInt(m.value);
    for (let i = 0; i < m.width; i++) {
      const pos = m.endian === 'le' ? m.at + i : m.at + m.width - 1 - i;
      out[pos] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  return out;
}

/** An offset inside the seed: uniform, or inside one of its metadata ranges. */
function offsetIn(seed: Seed): fc.Arbitrary<number> {
  const size = Math.max(1, seed.bytes.length);
  const uniform = fc.integer({ min: 0, max: size - 1 });
  const hot = (seed.hot ?? []).filter(([s, l]) => l > 0 && s < size);
  if (hot.length === 0) return uniform;
  const inHot = fc.tuple(fc.nat({ max: hot.length - 1 }), fc.nat()).map(([i, r]) => {
    const [s, l] = hot[i]!;
    return Math.min(size - 1, s + (r % l));
  });
  return fc.oneof({ weight: 1, arbitrary: uniform }, { weight: 3, arbitrary: inHot });
}

function fieldMutation(seed: Seed): fc.Arbitrary<Mutation> | null {
  const fields = (seed.fields ?? []).filter((f) => f.at + f.width <= seed.bytes.length);
  if (fields.length === 0) return null;
  return fc.nat({ max: fields.length - 1 }).chain((i) => {
    const f = fields[i]!;
    const bounds = [...boundaryValues(f.width, seed.bytes.length, f.endian), ...(f.values ?? [])];
    const bits = f.endian === 'octal' ? (f.width - 1) * 3 : f.width * 8;
    const value = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...bounds) },
      { weight: 1, arbitrary: fc.bigUintN(bits) },
    );
    return value.map((v): Mutation => ({ kind: 'field', at: f.at, width: f.width, endian: f.endian, value: v.toString() }));
  });
}

function mutationOf(seed: Seed): fc.Arbitrary<Mutation> {
  const at = offsetIn(seed);
  const size = seed.bytes.length;
  const flip = fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) });
  const set = fc.record({ kind: fc.constant('set' as const), at, value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), fc.nat({ max: 255 })) });
  const truncate = fc.record({
    kind: fc.constant('truncate' as const),
    // Near the end (a lost tail) or anywhere (a cut inside metadata).
    length: fc.oneof(fc.nat({ max: size }), fc.nat({ max: Math.min(size, 4096) }).map((n) => Math.max(0, size - n))),
  });
  const field = fieldMutation(seed);
  const options: fc.WeightedArbitrary<Mutation>[] = [
    { weight: 3, arbitrary: flip },
    { weight: 3, arbitrary: set },
    { weight: 1, arbitrary: truncate },
  ];
  if (field) options.push({ weight: 4, arbitrary: field });
  return fc.oneof(...options);
}

/** Cases built from the seeds: 1..8 mutations each, sometimes re-sealed; plus fully random bytes. */
export function caseArbitrary(seeds: readonly Seed[], opts: { randomMaxLength: number; randomWeight: number; canFixup: boolean }): fc.Arbitrary<FuzzCase> {
  const mutated = fc.nat({ max: seeds.length - 1 }).chain((i) => {
    const seed = seeds[i]!;
    return fc.record({
      seed: fc.constant(seed.name),
      mutations: fc.array(mutationOf(seed), { minLength: 1, maxLength: 8 }),
      fixup: opts.canFixup ? fc.boolean() : fc.constant(false),
    });
  });
  const random = fc.uint8Array({ maxLength: opts.randomMaxLength }).map((b): FuzzCase => ({ random: Buffer.from(b).toString('hex') }));
  return fc.oneof({ weight: 10 - opts.randomWeight, arbitrary: mutated }, { weight: opts.randomWeight, arbitrary: random });
}
