// Before a deploy that has static assets: asks the host which contents it lacks and uploads only those, a few at a
// time, so that a redeploy with one file changed sends one file (contents are stored by hash, shared by versions).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CollectedAssets } from '../deploy/asset-collect.ts';
import type { AdminClient } from './admin-client.ts';

const PARALLEL = 4;

export interface AssetUploadResult {
  /** Distinct contents of the assets directory. */
  contents: number;
  /** Those the host lacked, now uploaded. */
  uploaded: number;
}

export async function uploadAssets(client: AdminClient, assets: CollectedAssets): Promise<AssetUploadResult> {
  const hashes = [...assets.sources.keys()];
  const { missing } = await client.assetsMissing(hashes);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const hash = missing[next++]!;
      const bytes = await readFile(join(assets.dir, assets.sources.get(hash)!));
      await client.assetPut(hash, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, missing.length) }, worker));
  return { contents: hashes.length, uploaded: missing.length };
}

export function formatAssetUpload(r: AssetUploadResult): string {
  return `assets: ${r.uploaded} of ${r.contents} file contents uploaded (${r.contents - r.uploaded} already on the host)\n`;
}
