// `edge:platform/log`: what console.log is for JS workers. Always granted.
import type { CapabilityDefinition } from '../capability.ts';
import type * as Log from '../generated/interfaces/edge-platform-log.d.ts';

type LogImpl = typeof Log;

export const logCapability: CapabilityDefinition<LogImpl> = {
  name: 'log',
  interface: 'edge:platform/log',
  instantiate(_grants, ctx) {
    return {
      write(level: Log.Level, message: string): void {
        ctx.log(level, message);
      },
    };
  },
};
