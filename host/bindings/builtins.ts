// The capabilities built into the host, one folder each (host/bindings/<name>/). Adding one: its WIT file in wit/, its
// folder here (section, implementation, facade), and one line in this list.
import type { BuiltinCapability } from './capability.ts';
import type { ManifestSection } from '../core/manifest.ts';
import { logBuiltin } from './log/log.ts';
import { varsBuiltin } from './vars/vars.ts';
import { kvBuiltin } from './kv/kv.ts';
import { r2Builtin } from './r2/blob.ts';
import { serviceBuiltin } from './service/service.ts';
import { d1Builtin } from './d1/d1.ts';
import { assetsBuiltin } from './assets/assets.ts';
import { durableBuiltin } from './durable/durable.ts';
import { migrationsSection } from './durable/durable-section.ts';

export const BUILTIN_CAPABILITIES: readonly BuiltinCapability[] = [
  logBuiltin,
  varsBuiltin,
  // Sections are read in this order, so it decides which of two bindings of one name an error names first.
  serviceBuiltin as unknown as BuiltinCapability,
  kvBuiltin as unknown as BuiltinCapability,
  r2Builtin as unknown as BuiltinCapability,
  d1Builtin as unknown as BuiltinCapability,
  assetsBuiltin as unknown as BuiltinCapability,
  durableBuiltin as unknown as BuiltinCapability,
];

/** The wrangler sections that grant built-in capabilities, for the wrangler parser. */
export const BUILTIN_SECTIONS: ReadonlyArray<{ type: string; section: ManifestSection }> = [
  ...BUILTIN_CAPABILITIES.flatMap((c) => (c.section ? [{ type: c.name, section: c.section }] : [])),
  // `[[migrations]]` declares Durable Object classes; it grants nothing.
  { type: 'durable', section: migrationsSection },
];

/** The JS facades of the built-ins, by capability name, for the isolate prelude's snapshot. */
export const BUILTIN_FACADES: ReadonlyArray<{ name: string; module: string }> = BUILTIN_CAPABILITIES.flatMap((c) => (c.facade ? [{ name: c.name, module: c.facade.module }] : []));
