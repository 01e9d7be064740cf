// wrangler's module rules: which imports are not JavaScript but values (`import mod from "./x.wasm"` is a
// WebAssembly.Module, `.txt`/`.html`/`.sql` a string, `.bin` an ArrayBuffer), the manifest's `[[rules]]` before
// wrangler's defaults, with its `fallthrough` meaning. Globs are matched as wrangler matches them (the
// `glob-to-regexp` package: on the import specifier when bundling, on the path under the module root when
// collecting unbundled modules); written here rather than depended on because it is twenty lines and the exact
// semantics matter (`**/*.wasm` must match `./x.wasm`, which minimatch and path.matchesGlob do not).
import type { ModuleRule, ModuleRuleType, ValueModuleType } from '../core/manifest.ts';
import { VALUE_MODULE_TYPES } from '../core/manifest.ts';

/** wrangler's DEFAULT_MODULE_RULES, applied after the manifest's own. */
export const DEFAULT_MODULE_RULES: readonly ModuleRule[] = [
  { type: 'Text', globs: ['**/*.txt', '**/*.html', '**/*.sql'] },
  { type: 'Data', globs: ['**/*.bin'] },
  { type: 'CompiledWasm', globs: ['**/*.wasm', '**/*.wasm?module'] },
];

export interface ParsedRules {
  /** The rules in effect, in order: the manifest's, then the defaults, less those a rule of their type ended. */
  rules: ModuleRule[];
  /** Rules of a type an earlier rule without `fallthrough = true` ended: an import they match is an error. */
  removed: ModuleRule[];
  /** wrangler's warnings about ignored rules. */
  warnings: string[];
}

/** wrangler's parseRules: a rule without `fallthrough = true` ends its type; later rules of that type are ignored. */
export function parseRules(userRules: readonly ModuleRule[] = []): ParsedRules {
  const all = [...userRules, ...DEFAULT_MODULE_RULES];
  const ended = new Map<ModuleRuleType, number>();
  const rules: ModuleRule[] = [];
  const removed: ModuleRule[] = [];
  const warnings: string[] = [];
  all.forEach((rule, index) => {
    const at = ended.get(rule.type);
    if (at !== undefined) {
      const previous = all[at]!;
      if (previous.fallthrough !== false) {
        const which = index < userRules.length ? `The module rule at position ${index} (${JSON.stringify(rule)})` : `The default module rule ${JSON.stringify(rule)}`;
        warnings.push(`${which} has the same type as a previous rule (at position ${at}, ${JSON.stringify(previous)}). This rule will be ignored. To use the previous rule, add \`fallthrough = true\` to allow this one to also be used, or \`fallthrough = false\` to silence this warning.`);
      }
      removed.push(rule);
      return;
    }
    if (rule.fallthrough !== true) ended.set(rule.type, index);
    rules.push(rule);
  });
  return { rules, removed, warnings };
}

/** glob-to-regexp's translation (`*` any characters, `?` one; with `globstar`, `*` stays within a path segment and `**` spans segments). */
export function globToRegExp(glob: string, options: { globstar?: boolean } = {}): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      const prev = glob[i - 1];
      let stars = 1;
      while (glob[i + 1] === '*') {
        stars++;
        i++;
      }
      const next = glob[i + 1];
      if (!options.globstar) out += '.*';
      else if (stars > 1 && (prev === '/' || prev === undefined) && (next === '/' || next === undefined)) {
        out += '((?:[^/]*(?:/|$))*)';
        i++; // the slash after `**` is part of the match
      } else out += '([^/]*)';
    } else if (c === '?') out += '.';
    else out += c.replace(/[.+^${}()|[\]\\/=!]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Whether `type` is one of the value module types (not JavaScript). */
export function isValueModuleType(type: string): type is ValueModuleType {
  return (VALUE_MODULE_TYPES as readonly string[]).includes(type);
}

export interface RuleMatch {
  rule: ModuleRule;
  /** The rule was ignored (an earlier rule of its type lacks `fallthrough = true`): importing the file is an error. */
  removed: boolean;
}

/** The first rule whose glob matches `specifier` as the bundler sees it (`./x.wasm`, `pkg/x.wasm`), or null. */
export function matchSpecifier(parsed: ParsedRules, specifier: string): RuleMatch | null {
  for (const rule of parsed.rules) if (rule.globs.some((g) => globToRegExp(g).test(specifier))) return { rule, removed: false };
  for (const rule of parsed.removed) if (rule.globs.some((g) => globToRegExp(g).test(specifier))) return { rule, removed: true };
  return null;
}

/** The value module type of a file at `path` under the module root (`lib/x.wasm`), as wrangler finds additional modules; null for others. */
export function valueTypeOfPath(parsed: ParsedRules, path: string): ValueModuleType | null {
  for (const rule of parsed.rules) {
    if (!isValueModuleType(rule.type)) continue;
    if (rule.globs.some((g) => globToRegExp(g, { globstar: true }).test(path))) return rule.type;
  }
  return null;
}

/** `./x.wasm?module` names the file `./x.wasm` (the suffix is wrangler's way of asking for a module, its only kind). */
export function stripModuleSuffix(specifier: string): string {
  return specifier.endsWith('?module') ? specifier.slice(0, -'?module'.length) : specifier;
}
