// `kv_namespaces = [{ binding = "MY_KV", id = "..." }]`: the wrangler section that grants KV namespaces.
import type { ManifestSection } from '../../core/manifest.ts';

/** A KV grant's settings: the namespace of this host that the binding names. */
export interface KvGrant {
  id: string;
}

/** The namespace id rules: what wrangler accepts, and safe as a storage name. */
const STORE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const kvSection: ManifestSection = {
  key: 'kv_namespaces',
  parse(value, ctx) {
    return ctx.entries('kv_namespaces', value, ['binding', 'id', 'preview_id'], 'kv_namespaces = [{ binding = "MY_KV", id = "my-namespace" }]').map(({ key, item }) => {
      const binding = ctx.bindingName(key, item['binding'], 'MY_KV');
      const id = item['id'];
      if (id === undefined) throw ctx.invalid(`${key}.id`, `\`${key}.id\` is missing: the namespace to bind (any name; namespaces are created on first use on this host)`);
      if (typeof id !== 'string' || !STORE_ID_RE.test(id)) throw ctx.expected(`${key}.id`, 'a namespace id of letters, digits, "_", "." and "-" (at most 63)', id);
      if (item['preview_id'] !== undefined && typeof item['preview_id'] !== 'string') throw ctx.expected(`${key}.preview_id`, 'a string', item['preview_id']);
      return { binding, settings: { id } satisfies KvGrant, key };
    });
  },
};
