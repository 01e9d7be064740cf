// The body checksums S3 clients may send, against the standard check values ("123456789") and node:zlib / node:crypto.
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checksumHeaderAlgorithm, createChecksum, type ChecksumAlgorithm } from './checksums.ts';

const hex = (algorithm: ChecksumAlgorithm, ...parts: Buffer[]): string => {
  const c = createChecksum(algorithm);
  for (const p of parts) c.update(p);
  return Buffer.from(c.digest(), 'base64').toString('hex');
};

describe('checksums', () => {
  it('match the catalogued check values of CRC-32, CRC-32C and CRC-64/NVME', () => {
    const check = Buffer.from('123456789');
    expect(hex('crc32', check)).toBe('cbf43926');
    expect(hex('crc32c', check)).toBe('e3069283');
    expect(hex('crc64nvme', check)).toBe('ae8b14860a799888');
    expect(hex('crc64nvme', Buffer.alloc(0))).toBe('0000000000000000');
  });

  it('are incremental: any split of the bytes gives the same digest', () => {
    const data = randomBytes(100_003);
    for (const a of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const) {
      expect(hex(a, data.subarray(0, 7), data.subarray(7, 50_000), data.subarray(50_000))).toBe(hex(a, data));
    }
    expect(hex('crc32', data)).toBe(crc32(data).toString(16).padStart(8, '0'));
    expect(hex('sha256', data)).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('names algorithms by their x-amz-checksum-* header', () => {
    expect(checksumHeaderAlgorithm('x-amz-checksum-crc64nvme')).toBe('crc64nvme');
    expect(checksumHeaderAlgorithm('X-Amz-Checksum-SHA256')).toBe('sha256');
    expect(checksumHeaderAlgorithm('x-amz-checksum-md5')).toBeNull();
  });
});
