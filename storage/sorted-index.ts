// The in-memory ordered index of the engines: a B+ tree (sorted-btree) keyed by strings in UTF-8 byte order, the
// order Workers KV and R2 list in.
import sortedBtree from 'sorted-btree';
import { compareUtf8 } from './kv/kv-types.ts';

// sorted-btree is CommonJS with `exports.default`: Node's ESM loader hands over module.exports, bundlers the class.
type BTreeClass = typeof sortedBtree.default;
const BTree: BTreeClass = (sortedBtree as unknown as { default?: BTreeClass }).default ?? (sortedBtree as unknown as BTreeClass);

export type SortedIndex<V> = InstanceType<typeof BTree<string, V>>;

/** An empty index ordered by the UTF-8 bytes of its keys. */
export function sortedIndex<V>(): SortedIndex<V> {
  return new BTree<string, V>(undefined, compareUtf8);
}
