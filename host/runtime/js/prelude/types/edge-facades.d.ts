// The virtual module the host's prelude bundler makes from its capabilities' facade list (host/runtime/js/prelude-bundle.ts).
declare module 'edge:facades' {
  /** Facade factories by capability name: each receives the facade host and returns `{ create(binding, config, shared) }`. */
  const facades: Readonly<Record<string, (host: object) => { create(binding: string, config: unknown, shared: SharedArrayBuffer | null | undefined): unknown }>>;
  export default facades;
}
