// An asc transform (afterCompile) giving the guest's exports the canonical ABI names a WIT world expects,
// since AssemblyScript cannot spell names such as `test:hello/greeter@0.1.0#greet` or their post-return functions
// (`cm32p2|test:hello/greeter@0.1|greet_post`). The plan (which name maps to which) is made in assemblyscript.ts.

/** The subset of binaryen.js's Module that the transform touches. */
interface BinaryenModuleLike {
  getNumExports(): number;
  getExportByIndex(index: number): number;
  removeExport(externalName: string): void;
  addFunctionExport(internalName: string, externalName: string): number;
}

interface BinaryenLike {
  getExportInfo(ref: number): { kind: number; name: string; value: string };
  ExternalFunction: number;
}

export interface RenamePlan {
  /** AssemblyScript export name → canonical name. */
  renames: Map<string, string>;
  /** Function exports that are neither renamed nor kept are removed: wit-component refuses exports a world does not know. */
  keep: Set<string>;
}

export interface RenameOutcome {
  renamed: string[];
  removed: string[];
}

/**
 * asc instantiates transforms it receives as classes and sets `binaryen` on their prototype, so a fresh class is
 * made per build to carry this build's plan and report what it did.
 */
export function makeRenameExportsTransform(plan: RenamePlan, outcome: RenameOutcome): new () => object {
  return class RenameExportsTransform {
    declare binaryen: BinaryenLike;

    afterCompile(module: BinaryenModuleLike): void {
      const functions: { external: string; internal: string }[] = [];
      for (let i = 0; i < module.getNumExports(); i++) {
        const info = this.binaryen.getExportInfo(module.getExportByIndex(i));
        if (info.kind === this.binaryen.ExternalFunction) functions.push({ external: info.name, internal: info.value });
      }
      for (const { external, internal } of functions) {
        const canonical = plan.renames.get(external);
        if (canonical !== undefined) {
          module.removeExport(external);
          module.addFunctionExport(internal, canonical);
          outcome.renamed.push(`${external} -> ${canonical}`);
        } else if (!plan.keep.has(external)) {
          module.removeExport(external);
          outcome.removed.push(external);
        }
      }
    }
  };
}
