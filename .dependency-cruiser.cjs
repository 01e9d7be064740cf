// The architecture rules `npm run lint:deps` (part of `npm test`) enforces on host/, storage/ and guest-sdk/:
// no import cycles, storage independent of the host, a runtime core that names no capability, and host folders
// stacked in layers that only import downward. test/architecture.test.ts runs the same rules.

/** host/ folders from the ground floor up; folders in one inner array are one layer and do not import each other. */
const HOST_LAYERS = [['core'], ['build'], ['web', 'bindings'], ['runtime'], ['deploy'], ['server'], ['cli']];

/** One rule per host folder: it may import itself and folders of lower layers, nothing else of host/. */
const layerRules = HOST_LAYERS.flatMap((layer, level) =>
  layer.map((folder) => {
    const lower = HOST_LAYERS.slice(0, level).flat();
    const allowed = [folder, ...lower];
    return {
      name: `layer-${folder}`,
      comment:
        `host/${folder} may import only host/${folder} and lower layers (${lower.length ? lower.map((f) => `host/${f}`).join(', ') : 'none: it is the ground floor'}). ` +
        'Layers bottom to top: core < build < web, bindings < runtime < deploy < server < cli. An upward (or sideways) ' +
        'import couples a lower layer to what is built on it, so it can no longer be used, tested or replaced alone; ' +
        'move the shared piece down (a type or error class usually belongs in host/core) or pass it in from above.',
      severity: 'error',
      // A test beside the code exercises it from above (a registry test parses a real wrangler.toml): like test/, it
      // may use any layer; the code it tests may not.
      from: { path: `^host/${folder}/`, pathNot: '\\.test\\.ts$' },
      to: { path: '^host/', pathNot: `^host/(${allowed.join('|')})/` },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'An import cycle (type-only imports included) means neither module can be understood, tested or moved ' +
        'without the other, and runtime cycles make evaluation order decide what is undefined at import time. ' +
        'Break it by moving the shared part into a module both import.',
      severity: 'error',
      from: { path: '^(host|storage|guest-sdk)/' },
      to: { circular: true },
    },
    {
      name: 'storage-not-host',
      comment:
        'storage/ holds embedded engines independent of the host (no worker isolates, no HTTP: SQL runs in an isolate of its own), so that a distributed ' +
        'backend can replace them and they can be tested alone; the host depends on storage, never the reverse.',
      severity: 'error',
      from: { path: '^storage/' },
      to: { path: '^host/' },
    },
    {
      name: 'runtime-no-capability',
      comment:
        'The runtime core names no capability: a capability is one host/bindings/<name>/ folder found through the ' +
        'generic registry (host/bindings/*.ts), so that adding one never touches host/runtime.',
      severity: 'error',
      from: { path: '^host/runtime/' },
      to: { path: '^host/bindings/[^/]+/' },
    },
    {
      name: 'guest-sdk-not-host',
      comment:
        'guest-sdk/ is what guests build against; it ships without the host, so it must not import host/ (the host ' +
        'may import it). Its tests and test helpers may use the host toolchain to build and run what they test.',
      severity: 'error',
      from: { path: '^guest-sdk/', pathNot: ['\\.test\\.ts$', '/test-[^/]+\\.ts$'] },
      to: { path: '^host/' },
    },
    {
      name: 'host-file-outside-layers',
      comment:
        'Every host module sits in one of the layer folders (core, web, bindings, runtime, build, deploy, server, ' +
        'cli), so that the layer rules cover it; add a new folder to HOST_LAYERS in .dependency-cruiser.cjs.',
      severity: 'error',
      from: { path: '^host/', pathNot: `^host/(${HOST_LAYERS.flat().join('|')})/` },
      to: {},
    },
    ...layerRules,
  ],
  options: {
    // Only the project's own TypeScript under host/, storage/ and guest-sdk/ is checked; npm packages and Node
    // built-ins are left out of the graph (no rule is about them).
    includeOnly: { path: '^(host|storage|guest-sdk)/.*\\.ts$' },
    exclude: { path: ['(^|/)node_modules/', '^examples/', '^guest-sdk/js/', '^host/runtime/js/prelude/', '(^|/)\\.edge/'] },
    doNotFollow: { path: '(^|/)node_modules/' },
    // Type-only imports are dependencies too: a cycle or an upward arrow through `import type` still couples.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
