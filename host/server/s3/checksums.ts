// The checksums S3 clients send with a body (x-amz-checksum-* headers or aws-chunked trailers), computed
// incrementally: CRC32 by zlib, SHA-1/SHA-256 by node:crypto, CRC32C and CRC64/NVME by table (Node has neither).
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface Checksum {
  update(data: Uint8Array): void;
  /** The digest, base64 of its big-endian bytes (as in x-amz-checksum-*). */
  digest(): string;
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

// CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5) as two 32-bit halves, so that no BigInt is needed per byte.
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
(() => {
  const polyHi = 0x9a6c9329;
  const polyLo = 0xac4bc9b5;
  for (let i = 0; i < 256; i++) {
    let hi = 0;
    let lo = i;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        hi = (hi ^ polyHi) >>> 0;
        lo = (lo ^ polyLo) >>> 0;
      }
    }
    CRC64_HI[i] = hi;
    CRC64_LO[i] = lo;
  }
})();

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'crc32': {
      let c = 0;
      return { update: (d) => void (c = crc32(d, c)), digest: () => be32(c).toString('base64') };
    }
    case 'crc32c': {
      let c = 0xffffffff;
      return {
        update(d) {
          for (let i = 0; i < d.length; i++) c = CRC32C_TABLE[(c ^ d[i]!) & 0xff]! ^ (c >>> 8);
        },
        digest: () => be32(~c).toString('base64'),
      };
    }
    case 'crc64nvme': {
      let hi = 0xffffffff;
      let lo = 0xffffffff;
      return {
        update(d) {
          for (let i = 0; i < d.length; i++) {
            const idx = (lo ^ d[i]!) & 0xff;
            lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ CRC64_LO[idx]!) >>> 0;
            hi = ((hi >>> 8) ^ CRC64_HI[idx]!) >>> 0;
          }
        },
        digest: () => Buffer.concat([be32(~hi), be32(~lo)]).toString('base64'),
      };
    }
    case 'sha1':
    case 'sha256': {
      const h = createHash(algorithm);
      return { update: (d) => void h.update(d), digest: () => h.digest('base64') };
    }
  }
}

/** The algorithm of an `x-amz-checksum-<algorithm>` header name, or null. */
export function checksumHeaderAlgorithm(header: string): ChecksumAlgorithm | null {
  const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(header.toLowerCase());
  if (!m) return null;
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(m[1]!) ? (m[1] as ChecksumAlgorithm) : null;
}
