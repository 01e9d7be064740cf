// Runs the bindgen tests until the root vitest.config.ts includes guest-sdk/**/*.test.ts:
//   npx vitest run --config guest-sdk/bindgen/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  test: {
    include: ['**/*.test.ts'],
  },
});
