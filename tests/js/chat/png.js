// Generated PNGs of any size, all pixels zero, made in a few milliseconds:
// the IDAT is one deflate block of 1 MiB of zeros (about 1 kB compressed)
// repeated, so a 16384×16384 16-bit image is a 1.6 MB file that decodes to
// 1.5 GiB. No pixel buffer is ever built here.
import zlib from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/** Raw deflate blocks for `n` zero bytes, ending byte-aligned and not final (a sync flush). */
const zeros = (n) => zlib.deflateRawSync(Buffer.alloc(n), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });

const CHANNELS = { 0: 1, 2: 3, 4: 2, 6: 4 };

/**
 * A PNG of `width`×`height` zero pixels: `color` 0 grey, 2 RGB, 4 grey and
 * alpha, 6 RGBA; `depth` 8 or 16 bits a channel.
 */
export function zeroPng(width, height, { depth = 8, color = 6 } = {}) {
  const rowBytes = 1 + (width * CHANNELS[color] * depth) / 8;
  const total = rowBytes * height;
  const MiB = 1 << 20;
  const whole = Math.floor(total / MiB);
  const block = zeros(MiB);
  const parts = [Buffer.from([0x78, 0xda])];
  for (let i = 0; i < whole; i++) parts.push(block);
  if (total > whole * MiB) parts.push(zeros(total - whole * MiB));
  parts.push(Buffer.from([0x03, 0x00])); // the final block: empty
  // Adler-32 of `total` zero bytes: a stays 1, b grows by 1 a byte.
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((total % 65521) * 65536) + 1) >>> 0);
  parts.push(adler);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = color;
  return Buffer.concat([
    Buffer.from("89504e470d0a1a0a", "hex"),
    chunk("IHDR", ihdr),
    chunk("IDAT", Buffer.concat(parts)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Bytes the pixels of such a PNG take decoded. */
export const decodedBytes = (width, height, { depth = 8, color = 6 } = {}) => (width * height * CHANNELS[color] * depth) / 8;
