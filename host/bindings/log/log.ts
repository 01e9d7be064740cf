// `edge:platform/log`: what console.log is for JS workers. Always granted.
import type { BuiltinCapability } from '../capability.ts';
import type * as Log from '../generated/interfaces/edge-platform-log.d.ts';

export const logBuiltin: BuiltinCapability = {
  name: 'log',
  interface: 'edge:platform/log',
  grant: 'always',
  bind: () => ({
    instantiate(_grants, ctx): typeof Log {
      return {
        write(level: Log.Level, message: string): void {
          ctx.log(level, message);
        },
      };
    },
  }),
};
