// `[[durable_objects.bindings]] name = "ROOMS" class_name = "Room" script_name = "..."` grants a Durable Object
// namespace; `[[migrations]] tag = "v1" new_sqlite_classes = ["Room"]` declares the classes a worker exports, as
// wrangler users write them.
import type { ManifestSection } from '../../core/manifest.ts';

/** A Durable Object grant's settings: the class, and the worker that exports it (null: this one). */
export interface DurableGrant extends Record<string, unknown> {
  className: string;
  scriptName: string | null;
}

const EXAMPLE = '[[durable_objects.bindings]]\nname = "ROOMS"\nclass_name = "Room"';
const CLASS_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const SCRIPT_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

function isTable(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export const durableSection: ManifestSection = {
  key: 'durable_objects',
  parse(value, ctx) {
    if (!isTable(value)) throw ctx.expected('durable_objects', 'a table with `bindings` (as in `[[durable_objects.bindings]]`)', value);
    for (const k of Object.keys(value)) if (k !== 'bindings') throw ctx.invalid(`durable_objects.${k}`, `unknown key \`durable_objects.${k}\`: durable_objects holds \`bindings\` only`);
    if (value['bindings'] === undefined) return [];
    return ctx.entries('durable_objects.bindings', value['bindings'], ['name', 'class_name', 'script_name', 'environment'], EXAMPLE).map(({ key, item }) => {
      const binding = ctx.bindingName(key, item['name'], 'ROOMS');
      const className = item['class_name'];
      if (className === undefined) throw ctx.invalid(`${key}.class_name`, `\`${key}.class_name\` is missing: the exported class that implements the objects, as in ${EXAMPLE}`);
      if (typeof className !== 'string' || !CLASS_RE.test(className)) throw ctx.expected(`${key}.class_name`, 'a JavaScript class name', className);
      const script = item['script_name'];
      if (script !== undefined && (typeof script !== 'string' || !SCRIPT_RE.test(script))) throw ctx.expected(`${key}.script_name`, 'a worker name', script);
      if (item['environment'] !== undefined && typeof item['environment'] !== 'string') throw ctx.expected(`${key}.environment`, 'a string', item['environment']);
      const settings: DurableGrant = { className, scriptName: (script as string | undefined) ?? null };
      return { binding, settings, key };
    });
  },
};

/** `[[migrations]]`: checked, and taken as they are (a class's storage is kept under its name across versions). */
export const migrationsSection: ManifestSection = {
  key: 'migrations',
  parse(value, ctx) {
    if (!Array.isArray(value)) throw ctx.expected('migrations', 'an array of tables (`[[migrations]]`)', value);
    const lists = ['new_classes', 'new_sqlite_classes', 'deleted_classes'];
    value.forEach((m: unknown, i) => {
      const key = `migrations[${i}]`;
      if (!isTable(m)) throw ctx.expected(key, 'a table', m);
      for (const k of Object.keys(m)) {
        if (![...lists, 'tag', 'renamed_classes', 'transferred_classes'].includes(k)) throw ctx.invalid(`${key}.${k}`, `unknown key \`${key}.${k}\` (known: tag, ${lists.join(', ')}, renamed_classes, transferred_classes)`);
      }
      if (typeof m['tag'] !== 'string' || m['tag'] === '') throw ctx.expected(`${key}.tag`, 'a non-empty string', m['tag']);
      for (const l of lists) {
        const v = m[l];
        if (v !== undefined && (!Array.isArray(v) || v.some((c) => typeof c !== 'string' || !CLASS_RE.test(c)))) throw ctx.expected(`${key}.${l}`, 'an array of class names', v);
      }
      for (const l of ['renamed_classes', 'transferred_classes']) {
        const v = m[l];
        if (v !== undefined && (!Array.isArray(v) || v.some((r) => !isTable(r) || typeof r['from'] !== 'string' || typeof r['to'] !== 'string'))) throw ctx.expected(`${key}.${l}`, 'an array of { from, to } tables', v);
      }
    });
    return [];
  },
};

/**
 * The classes `[[migrations]]` (already checked by migrationsSection) leave with SQLite storage: those of
 * new_sqlite_classes, followed through renamed_classes, less deleted_classes.
 */
export function sqliteClasses(migrations: unknown): string[] {
  const classes = new Set<string>();
  if (!Array.isArray(migrations)) return [];
  for (const m of migrations as Array<Record<string, unknown>>) {
    for (const c of (m['new_sqlite_classes'] as string[] | undefined) ?? []) classes.add(c);
    for (const r of (m['renamed_classes'] as Array<{ from: string; to: string }> | undefined) ?? []) {
      if (classes.delete(r.from)) classes.add(r.to);
    }
    for (const c of (m['deleted_classes'] as string[] | undefined) ?? []) classes.delete(c);
  }
  return [...classes];
}

/**
 * Every class `[[migrations]]` (already checked) leave declared, SQLite-backed or not: new_classes and
 * new_sqlite_classes, followed through renamed_classes, less deleted_classes. The classes the worker exports.
 */
export function declaredClasses(migrations: unknown): string[] {
  const classes = new Set<string>();
  if (!Array.isArray(migrations)) return [];
  for (const m of migrations as Array<Record<string, unknown>>) {
    for (const c of [...((m['new_classes'] as string[] | undefined) ?? []), ...((m['new_sqlite_classes'] as string[] | undefined) ?? [])]) classes.add(c);
    for (const r of (m['renamed_classes'] as Array<{ from: string; to: string }> | undefined) ?? []) {
      if (classes.delete(r.from)) classes.add(r.to);
    }
    for (const c of (m['deleted_classes'] as string[] | undefined) ?? []) classes.delete(c);
  }
  return [...classes];
}
