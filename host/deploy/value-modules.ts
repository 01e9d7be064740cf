// The uploaded files of a JS worker that are value modules (wrangler's CompiledWasm, Text and Data): typed by
// `edge deploy` (which applied the manifest's rules when it bundled or collected them), or, from an API upload that
// does not say, by the manifest's rules on their path. The deployer keeps them beside the JS modules.
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest } from '../core/manifest.ts';
import type { ValueModule } from '../runtime/worker-types.ts';
import { isValueModuleType, matchSpecifier, parseRules } from './module-rules.ts';
import type { UploadedFile } from './upload.ts';

const JS_OR_MAP = /\.(m?js|cjs|map)$/;

/** The value module `file` is, or null when it is a JS module or a source map. */
export function valueModuleOf(file: UploadedFile, manifest: DeployManifest): ValueModule | null {
  let type: string | undefined = file.type;
  if (type === undefined) {
    if (JS_OR_MAP.test(file.path)) return null;
    const match = matchSpecifier(parseRules(manifest.bundle.rules), `./${file.path}`);
    if (!match || match.removed || !isValueModuleType(match.rule.type)) return null;
    type = match.rule.type;
  }
  if (!isValueModuleType(type)) {
    throw new EdgeError('E_DEPLOY_INVALID', `Module "${file.path}" has type "${type}"; a module's type is CompiledWasm, Text or Data (or none for JavaScript).`, { details: { module: file.path } });
  }
  const bytes = file.encoding === 'base64' ? Buffer.from(file.content, 'base64') : Buffer.from(file.content, 'utf8');
  return { path: file.path, type, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}
