/**
 * A minimal ustar writer for tests that build WebDataset shards on the fly (regular files only).
 *
 * @module
 */

const encoder = new TextEncoder();

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** Builds a tar archive of regular files, in the given order, with two end-of-archive blocks. */
export function makeTar(
  members: readonly { name: string; data: Uint8Array | string }[],
): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const member of members) {
    const data = typeof member.data === "string" ? encoder.encode(member.data) : member.data;
    const header = new Uint8Array(512);
    header.set(encoder.encode(member.name).subarray(0, 100), 0);
    header.set(encoder.encode(octal(0o444, 8)), 100);
    header.set(encoder.encode(octal(0, 8)), 108);
    header.set(encoder.encode(octal(0, 8)), 116);
    header.set(encoder.encode(octal(data.length, 12)), 124);
    header.set(encoder.encode(octal(0, 12)), 136);
    header.fill(0x20, 148, 156); // checksum field counts as spaces
    header[156] = 0x30; // regular file
    header.set(encoder.encode("ustar\x0000"), 257);
    const checksum = header.reduce((sum, byte) => sum + byte, 0);
    header.set(encoder.encode(checksum.toString(8).padStart(6, "0") + "\0 "), 148);
    blocks.push(header, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const block of blocks) {
    out.set(block, offset);
    offset += block.length;
  }
  return out;
}

/** Reads the members of a tar archive written by {@linkcode makeTar} or a simple ustar tool. */
export function readTarMembers(tar: Uint8Array): { name: string; data: Uint8Array }[] {
  const members: { name: string; data: Uint8Array }[] = [];
  const decoder = new TextDecoder();
  let offset = 0;
  while (offset + 512 <= tar.length && tar[offset] !== 0) {
    const header = tar.subarray(offset, offset + 512);
    const name = decoder.decode(header.subarray(0, 100)).replace(/\0.*$/s, "");
    const size = parseInt(
      decoder.decode(header.subarray(124, 136)).replace(/\0.*$/s, "").trim(),
      8,
    );
    members.push({ name, data: tar.slice(offset + 512, offset + 512 + size) });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return members;
}
