// Picks the worker for a request: `<name>.localhost` (any port) first, then manifest route patterns in the
// Workers style (`example.com/api/*`, `*.example.com/*`), most specific pattern first.
import type { RoutePattern } from './manifest.ts';

interface CompiledRoute {
  worker: string;
  pattern: string;
  host: string;
  /** `*.example.com` matches example.com and any subdomain. */
  hostWildcard: boolean;
  path: string;
  pathWildcard: boolean;
  specificity: number;
}

function compile(worker: string, pattern: string): CompiledRoute {
  const p = pattern.replace(/^https?:\/\//, '');
  const slash = p.indexOf('/');
  // A port in the pattern (`localhost:8787/*`, as wrangler dev setups write) matches on any port, as Host headers do here.
  let host = (slash < 0 ? p : p.slice(0, slash)).toLowerCase().replace(/:\d+$/, '');
  let path = slash < 0 ? '/*' : p.slice(slash);
  const hostWildcard = host.startsWith('*');
  if (hostWildcard) host = host.slice(1).replace(/^\./, '');
  const pathWildcard = path.endsWith('*');
  if (pathWildcard) path = path.slice(0, -1);
  return { worker, pattern, host, hostWildcard, path, pathWildcard, specificity: (hostWildcard ? 0 : 1000) + host.length * 10 + path.length + (pathWildcard ? 0 : 5) };
}

export class Router {
  private routes: CompiledRoute[] = [];
  private readonly workers = new Set<string>();

  set(worker: string, routes: RoutePattern[]): void {
    this.workers.add(worker);
    this.routes = this.routes.filter((r) => r.worker !== worker);
    for (const r of routes) this.routes.push(compile(worker, r.pattern));
    this.routes.sort((a, b) => b.specificity - a.specificity);
  }

  remove(worker: string): void {
    this.workers.delete(worker);
    this.routes = this.routes.filter((r) => r.worker !== worker);
  }

  /** The worker already owning exactly this pattern, if another one does. */
  owner(pattern: string, except: string): string | null {
    const c = compile(except, pattern);
    for (const r of this.routes) {
      if (r.worker !== except && r.host === c.host && r.hostWildcard === c.hostWildcard && r.path === c.path && r.pathWildcard === c.pathWildcard) return r.worker;
    }
    return null;
  }

  /** `hostHeader` as sent (may carry a port); `path` without the query string. */
  match(hostHeader: string | undefined, path: string): string | null {
    const host = (hostHeader ?? '').replace(/:\d+$/, '').toLowerCase();
    if (host.endsWith('.localhost')) {
      const name = host.slice(0, -'.localhost'.length);
      if (this.workers.has(name)) return name;
    }
    for (const r of this.routes) {
      if (r.hostWildcard ? !(host === r.host || host.endsWith(`.${r.host}`)) : host !== r.host) continue;
      if (r.pathWildcard ? path.startsWith(r.path) : path === r.path) return r.worker;
    }
    return null;
  }
}
