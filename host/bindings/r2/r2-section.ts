// `r2_buckets = [{ binding = "BUCKET", bucket_name = "..." }]`: the wrangler section that grants R2 buckets.
import type { ManifestSection } from '../../core/manifest.ts';

/** An R2 grant's settings: the bucket of this host that the binding names. */
export interface R2Grant {
  bucketName: string;
}

/** What R2 and S3 accept as a bucket name. */
const BUCKET_RE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export const r2Section: ManifestSection = {
  key: 'r2_buckets',
  parse(value, ctx) {
    return ctx.entries('r2_buckets', value, ['binding', 'bucket_name', 'preview_bucket_name', 'jurisdiction'], 'r2_buckets = [{ binding = "BUCKET", bucket_name = "my-bucket" }]').map(({ key, item }) => {
      const binding = ctx.bindingName(key, item['binding'], 'BUCKET');
      const name = item['bucket_name'];
      if (name === undefined) throw ctx.invalid(`${key}.bucket_name`, `\`${key}.bucket_name\` is missing: the bucket to bind (created on first use on this host)`);
      if (typeof name !== 'string' || !BUCKET_RE.test(name)) throw ctx.expected(`${key}.bucket_name`, 'a bucket name of 3-63 lower-case letters, digits and "-" (as R2 and S3 require)', name);
      for (const k of ['preview_bucket_name', 'jurisdiction']) if (item[k] !== undefined && typeof item[k] !== 'string') throw ctx.expected(`${key}.${k}`, 'a string', item[k]);
      return { binding, settings: { bucketName: name } satisfies R2Grant, key };
    });
  },
};
