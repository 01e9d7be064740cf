// `assets = { directory = "./public", binding = "ASSETS", html_handling, not_found_handling, run_worker_first }`: the
// wrangler section of static assets, with Workers' rules (an assets-only worker, one without `main`, can have neither
// a binding nor run_worker_first, since there is no worker to give them to).
import { HTML_HANDLING, NOT_FOUND_HANDLING, type AssetsConfig, type HtmlHandling, type NotFoundHandling } from '../../core/assets.ts';
import type { SectionContext } from '../../core/manifest.ts';

/** An assets grant's settings: whose assets `env.<binding>` serves. */
export interface AssetsGrant {
  worker: string;
}

const KEYS = ['directory', 'binding', 'html_handling', 'not_found_handling', 'run_worker_first'];
/** Wrangler keys of `assets` that are accepted and mean nothing here. */
const IGNORED_KEYS = ['experimental_serve_directly'];

/** Checks one `run_worker_first` rule: a path pattern (`/api/*`), or its negation (`!/api/docs/*`). */
function checkRule(rule: unknown, key: string, ctx: SectionContext): string {
  if (typeof rule !== 'string') throw ctx.expected(key, 'a route pattern string such as "/api/*" or "!/api/docs/*"', rule);
  const path = rule.startsWith('!') ? rule.slice(1) : rule;
  if (!path.startsWith('/')) {
    throw ctx.invalid(key, `\`${key}\` = ${JSON.stringify(rule)} must be a path pattern starting with "/" (or "!/" to exclude paths), such as "/api/*"`);
  }
  return rule;
}

/**
 * Parses the value of `assets` (never undefined). `hasMain`: the manifest has a `main`. The binding, if any, is
 * registered in the manifest's one namespace of binding names.
 */
export function parseAssetsSection(value: unknown, ctx: SectionContext, hasMain: boolean): AssetsConfig {
  const example = ctx.format === 'toml' ? '[assets] directory = "./public"' : '"assets": { "directory": "./public" }';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw ctx.expected('assets', `a table such as ${example}`, value);
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (KEYS.includes(k) || IGNORED_KEYS.includes(k)) continue;
    throw ctx.invalid(`assets.${k}`, `unknown key \`assets.${k}\`. Known keys in \`assets\`: ${KEYS.join(', ')}.`);
  }
  const directory = v['directory'];
  if (directory === undefined) throw ctx.invalid('assets.directory', `\`assets.directory\` is missing: the folder of static files to upload, e.g. ${example}`);
  if (typeof directory !== 'string' || directory.trim() === '') throw ctx.expected('assets.directory', 'a non-empty path to a folder, relative to the manifest', directory);
  const config: AssetsConfig = { directory, htmlHandling: 'auto-trailing-slash', notFoundHandling: 'none', runWorkerFirst: false };

  const html = v['html_handling'];
  if (html !== undefined) {
    if (typeof html !== 'string' || !HTML_HANDLING.includes(html as HtmlHandling)) throw ctx.expected('assets.html_handling', `one of ${HTML_HANDLING.map((h) => `"${h}"`).join(', ')}`, html);
    config.htmlHandling = html as HtmlHandling;
  }
  const notFound = v['not_found_handling'];
  if (notFound !== undefined) {
    if (typeof notFound !== 'string' || !NOT_FOUND_HANDLING.includes(notFound as NotFoundHandling)) {
      throw ctx.expected('assets.not_found_handling', `one of ${NOT_FOUND_HANDLING.map((h) => `"${h}"`).join(', ')}`, notFound);
    }
    config.notFoundHandling = notFound as NotFoundHandling;
  }
  const first = v['run_worker_first'];
  if (first !== undefined) {
    if (typeof first === 'boolean') config.runWorkerFirst = first;
    else if (Array.isArray(first)) config.runWorkerFirst = first.map((r, i) => checkRule(r, `assets.run_worker_first[${i}]`, ctx));
    else throw ctx.expected('assets.run_worker_first', 'a boolean, or an array of route patterns such as ["/api/*", "!/api/docs/*"]', first);
    if (!hasMain && (first === true || (Array.isArray(first) && first.length > 0))) {
      throw ctx.invalid('assets.run_worker_first', '`assets.run_worker_first` needs a worker to run, but the manifest has no `main`: set `main` to the worker\'s entry module, or remove `run_worker_first`');
    }
  }
  if (v['binding'] !== undefined) {
    if (!hasMain) {
      throw ctx.invalid('assets.binding', '`assets.binding` gives the worker `env.<binding>`, but the manifest has no `main` (an assets-only worker): set `main`, or remove `assets.binding`');
    }
    config.binding = ctx.bindingName('assets', v['binding'], 'ASSETS');
  }
  return config;
}
