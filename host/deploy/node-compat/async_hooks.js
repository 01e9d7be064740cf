// node:async_hooks under nodejs_compat: AsyncLocalStorage and AsyncResource are the runtime's (they follow each
// request across awaits and timers: host/runtime/js/prelude/async-context.js); the hook API is unenv's inert one, as
// on Workers, which has no async hooks either.
import { AsyncLocalStorage, AsyncResource } from 'edge:node-compat';
import { asyncWrapProviders, createHook, executionAsyncId, executionAsyncResource, triggerAsyncId } from 'unenv/node/internal/async_hooks/async-hook';

export { AsyncLocalStorage, AsyncResource, asyncWrapProviders, createHook, executionAsyncId, executionAsyncResource, triggerAsyncId };
export default { AsyncLocalStorage, AsyncResource, asyncWrapProviders, createHook, executionAsyncId, executionAsyncResource, triggerAsyncId };
