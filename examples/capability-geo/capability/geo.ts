// The host side of the `geo` capability (example:geo/lookup, geo.wit): which region an IPv4 address is in, from the
// table in regions.json, loaded once when the host starts. The types of the implementation come from the WIT
// (`edge types capability/geo.wit` wrote generated/), so a change of the WIT that this file does not follow fails
// `npx tsc -p examples/capability-geo`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CapabilityDefinition } from '../../../host/bindings/capability.ts';
import type * as Lookup from './generated/example-geo-lookup.d.ts';

/** What a grant gives an instance, after checkGrant: `[[bindings]] type = "geo", default_region = "eu-west"`. */
export interface GeoSettings {
  /** Answered for addresses the table has no range for; `none` when null. */
  defaultRegion: string | null;
}

interface Range {
  /** The network address and the mask, as unsigned 32-bit numbers. */
  network: number;
  mask: number;
  prefix: number;
  region: string;
}

const REGION_RE = /^[a-z0-9][a-z0-9-]*$/;
// Beside this module rather than under ctx.configDir: the table ships with the capability, wherever the config is.
const TABLE_FILE = join(import.meta.dirname, 'regions.json');

/** Longest prefix first, so that the first match is the most specific one. Set by setup. */
let table: Range[] | null = null;

/** `a.b.c.d` as an unsigned 32-bit number, or null: four decimal parts 0-255, no sign, no leading zeros. */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Reads regions.json; a malformed entry stops the host from starting, naming the entry. */
async function loadTable(file: string): Promise<Range[]> {
  const data = JSON.parse(await readFile(file, 'utf8')) as { ranges?: unknown };
  if (!Array.isArray(data.ranges)) throw new Error(`${file}: expected { "ranges": [{ "cidr": "192.0.2.0/24", "region": "eu-west" }, ...] }`);
  const ranges = data.ranges.map((entry: unknown, i: number): Range => {
    const { cidr, region } = (entry ?? {}) as { cidr?: unknown; region?: unknown };
    const at = `${file}: ranges[${i}]`;
    if (typeof region !== 'string' || !REGION_RE.test(region)) throw new Error(`${at}: "region" must be a name such as "eu-west"`);
    const m = typeof cidr === 'string' ? /^([^/]+)\/(\d{1,2})$/.exec(cidr) : null;
    const address = m ? parseIPv4(m[1]!) : null;
    const prefix = m ? Number(m[2]) : NaN;
    if (address === null || !(prefix <= 32)) throw new Error(`${at}: "cidr" must be an IPv4 range such as "192.0.2.0/24", got ${JSON.stringify(cidr)}`);
    const mask = maskOf(prefix);
    if ((address & mask) >>> 0 !== address) throw new Error(`${at}: ${String(cidr)} has host bits set (the network is ${formatIPv4(address & mask)}/${prefix})`);
    return { network: address, mask, prefix, region };
  });
  return ranges.sort((a, b) => b.prefix - a.prefix);
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function regionOf(ranges: readonly Range[], address: number): string | undefined {
  for (const r of ranges) if ((address & r.mask) >>> 0 === r.network) return r.region;
  return undefined;
}

type LookupImpl = typeof Lookup;

const geo: CapabilityDefinition<LookupImpl, GeoSettings> = {
  name: 'geo',
  interface: 'example:geo/lookup',

  async setup() {
    table = await loadTable(TABLE_FILE);
  },

  checkGrant(grant) {
    const { default_region: defaultRegion, ...rest } = grant.settings;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new Error(`unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `\`${k}\``).join(', ')} (geo knows: default_region)`);
    if (defaultRegion === undefined) return { defaultRegion: null };
    if (typeof defaultRegion !== 'string' || !REGION_RE.test(defaultRegion)) {
      throw new Error(`default_region must be a region name such as "eu-west" (lower-case letters, digits and '-'), got ${JSON.stringify(defaultRegion)}`);
    }
    return { defaultRegion };
  },

  instantiate(grants) {
    if (table === null) throw new Error('the geo capability was not set up (its setup() loads regions.json)');
    const ranges: readonly Range[] = table;

    // One class per worker instance, closing over what that worker was granted: a binding it was not granted cannot
    // be opened, whatever name the guest passes.
    class Table {
      #settings: GeoSettings = { defaultRegion: null };

      static open(binding: string): Table {
        const settings = grants.get(binding);
        if (settings === undefined) throw { tag: 'not-granted', val: binding } satisfies Lookup.Error;
        const opened = new Table();
        opened.#settings = settings;
        return opened;
      }

      region(ip: string): string | undefined {
        const address = parseIPv4(ip);
        if (address === null) throw { tag: 'invalid-address', val: ip } satisfies Lookup.Error;
        return regionOf(ranges, address) ?? this.#settings.defaultRegion ?? undefined;
      }
    }
    return { Table };
  },
};

export default geo;
