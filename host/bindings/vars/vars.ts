// `edge:platform/vars`: the manifest's [vars], as JSON text. Always granted (JS workers get them as `env` values).
import type { BuiltinCapability } from '../capability.ts';
import type * as Vars from '../generated/interfaces/edge-platform-vars.d.ts';

export const varsBuiltin: BuiltinCapability = {
  name: 'vars',
  interface: 'edge:platform/vars',
  grant: 'always',
  bind: () => ({
    instantiate(_grants, ctx): typeof Vars {
      const names = Object.keys(ctx.vars).sort();
      return {
        get(name: string): string | undefined {
          return Object.hasOwn(ctx.vars, name) ? JSON.stringify(ctx.vars[name]) : undefined;
        },
        names(): string[] {
          return names.slice();
        },
      };
    },
  }),
};
