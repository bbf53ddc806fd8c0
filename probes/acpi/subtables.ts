import { ParseError } from '../../bytes/errors.js';
import type { LeReader } from '../../bytes/le-reader.js';

/** Where one subtable (MADT interrupt controller, PPTT node, IORT node, …) sits. */
export interface SubtableRef {
  offset: number;
  type: number;
  length: number;
}

export interface WalkOptions {
  /** Structure name for errors ("MADT interrupt controller structure"). */
  structure: string;
  /** Width of the Length field, which always follows a 1-byte Type (or Revision, in DBG2): 1 (MADT, PPTT) or 2 (GTDT, IORT, DBG2). */
  lengthSize: 1 | 2;
  /** Smallest valid subtable (at least its type+length header). */
  minLength: number;
  /** Exactly this many subtables (GTDT, IORT, DBG2 give a count); otherwise walk to `end`. */
  count?: number;
}

/**
 * Walk type/length-prefixed subtables in [start, end). Unknown types are
 * the caller's to skip: every subtable is stepped over by its own Length,
 * which must be at least `minLength` (so a zero Length can never loop) and
 * must not run past `end`. A given count must fit in the space available.
 * Lazy, so the caller decodes each subtable before the next is stepped to
 * and an error names the first malformed structure.
 */
export function* walkSubtables(r: LeReader, start: number, end: number, opts: WalkOptions): Generator<SubtableRef> {
  const { structure, lengthSize, minLength, count } = opts;
  if (end > r.limit) throw new ParseError(structure, start, `subtable area ends at ${end}, past the table Length ${r.limit}`);
  if (count !== undefined) {
    const room = Math.max(0, end - start);
    if (count * minLength > room) {
      throw new ParseError(structure, start, `count ${count} needs at least ${count * minLength} bytes, only ${room} in the table`);
    }
  }
  let offset = start;
  for (let n = 0; count !== undefined ? n < count : offset < end; n++) {
    if (offset + 1 + lengthSize > end) {
      throw new ParseError(structure, offset, `subtable header runs past the end of the table (${end})`);
    }
    const type = r.u8(offset, 'Type');
    const length = lengthSize === 1 ? r.u8(offset + 1, 'Length') : r.u16(offset + 1, 'Length');
    if (length < minLength) {
      throw new ParseError(structure, offset, `type ${type} subtable Length ${length} is less than the minimum ${minLength}`);
    }
    if (offset + length > end) {
      throw new ParseError(structure, offset, `type ${type} subtable Length ${length} runs past the end of the table (${end})`);
    }
    yield { offset, type, length };
    offset += length;
  }
}

/** Throw unless a subtable of `type` is long enough for the fields the spec gives it. */
export function needLength(ref: SubtableRef, min: number, structure: string): void {
  if (ref.length < min) {
    throw new ParseError(structure, ref.offset, `Length ${ref.length} is less than the ${min} bytes this structure needs`);
  }
}
