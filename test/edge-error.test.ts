// EdgeError: the host's error type. An answer that is no fault of the host's (an unknown route) is made without a
// stack trace, which V8 otherwise captures by walking the request path's optimized frames (~10% of a 404's CPU).
import { describe, expect, it } from 'vitest';
import { EdgeError } from '../host/core/errors.ts';

describe('EdgeError', () => {
  it('captures a stack trace unless told not to, and leaves Error.stackTraceLimit as it was', () => {
    const before = Error.stackTraceLimit;
    const withStack = new EdgeError('E_INTERNAL', 'boom', { status: 500 });
    const without = new EdgeError('E_NO_ROUTE', 'No worker serves x.localhost/', { status: 404, stack: false });
    expect(withStack.stack).toMatch(/\n\s+at /);
    expect(without.stack).toBe('EdgeError: No worker serves x.localhost/');
    expect(without).toMatchObject({ code: 'E_NO_ROUTE', status: 404, message: 'No worker serves x.localhost/' });
    expect(Error.stackTraceLimit).toBe(before);
  });
});
