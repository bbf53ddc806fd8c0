/** Text fields of binary structures. */

/** Bytes as Latin-1 text (each byte one character), in chunks so a large property cannot overflow the call stack. */
export function latin1(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; i += 4096) out += String.fromCharCode.apply(null, Array.from(b.subarray(i, i + 4096)));
  return out;
}

/** A NUL-padded fixed-width text field as UTF-8 (ext4's s_volume_name, s_last_mounted). */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder('utf-8', { fatal: false }).decode(end < 0 ? bytes : bytes.subarray(0, end));
}
