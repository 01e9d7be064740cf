// The host config of the example: `edge serve --config examples/capability-geo/edge.config.ts` offers the `geo`
// capability to every worker whose manifest grants it. Paths are relative to this file.
export default {
  capabilities: [{ wit: './capability/geo.wit', module: './capability/geo.ts' }],
};
