// Build failures with a stable code: what failed, and where in the guest source.

export interface BuildDiagnostic {
  /** Path as the compiler names it: relative to the entry's folder, or `~lib/...` for the standard library. */
  file: string | null;
  line: number;
  column: number;
  /** AssemblyScript diagnostic code (e.g. 2304 "Cannot find name"). */
  code: number;
  message: string;
}

export class BuildError extends Error {
  readonly code = 'E_BUILD_FAILED';
  readonly diagnostics: BuildDiagnostic[];

  constructor(message: string, diagnostics: BuildDiagnostic[] = [], options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BuildError';
    this.diagnostics = diagnostics;
  }
}

export function formatDiagnostic(d: BuildDiagnostic): string {
  return d.file === null ? d.message : `${d.file}:${d.line}:${d.column}: ${d.message}`;
}
