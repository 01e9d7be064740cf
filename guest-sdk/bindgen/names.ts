// How WIT names are spelled in code, by jco's JS glue and by our AssemblyScript glue alike: kebab-case words joined
// camelCase (`begin-response` → `beginResponse`), PascalCase for types and resource classes, the `%` escape dropped.

/** `get-value` → `getValue`; `%list` → `list`. */
export function camelCase(witName: string): string {
  return witName.replace(/^%/, '').replace(/-([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `incoming-body` → `IncomingBody`. */
export function pascalCase(witName: string): string {
  const c = camelCase(witName);
  return c.charAt(0).toUpperCase() + c.slice(1);
}
