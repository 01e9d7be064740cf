// The shape of a WIT interface as the isolate needs it to build jco's import object and the JS `env` facade:
// its free functions and resources with their members, under the JS names jco gives them. Types are not needed:
// values cross the bridge as structured copies in jco's JS representation on both sides.
import type { Interface, PackageId, ResolvedPackage } from '../../guest-sdk/bindgen/wit/index.ts';
import { camelCase, pascalCase } from '../../guest-sdk/bindgen/names.ts';

export interface MemberDescriptor {
  wit: string;
  js: string;
  kind: 'method' | 'static' | 'constructor';
  /** No result: the guest cannot observe the call's outcome, so it need not wait for the host (see capabilities.js). */
  noResult?: true;
}

export interface ResourceDescriptor {
  wit: string;
  /** jco's class name: PascalCase. */
  js: string;
  members: MemberDescriptor[];
}

export interface InterfaceDescriptor {
  /** `ns:pkg/iface`, the key of jco's import object. */
  id: string;
  version?: string;
  functions: Array<{ wit: string; js: string; noResult?: true }>;
  resources: ResourceDescriptor[];
  /** The resource a binding name opens (`static open(binding: string)`), if any: the JS facade's target. */
  opens?: string;
}


export function interfaceKey(pkg: PackageId, iface: string): string {
  return `${pkg.namespace}:${pkg.name}/${iface}`;
}

export function describeInterface(pkg: ResolvedPackage, iface: Interface): InterfaceDescriptor {
  const resources: ResourceDescriptor[] = [];
  let opens: string | undefined;
  for (const t of iface.types) {
    if (t.kind.kind !== 'resource') continue;
    const members = t.kind.functions.map((f): MemberDescriptor => ({
      wit: f.name,
      js: f.kind === 'constructor' ? 'constructor' : camelCase(f.name),
      kind: f.kind === 'freestanding' ? ('static' as const) : f.kind,
      ...(f.kind === 'method' && f.result === undefined ? { noResult: true as const } : {}),
    }));
    resources.push({ wit: t.name, js: pascalCase(t.name), members });
    const open = t.kind.functions.find((f) => f.kind === 'static' && f.name === 'open');
    if (open && open.params.length === 1 && open.params[0]!.type.kind === 'primitive' && open.params[0]!.type.name === 'string') opens ??= pascalCase(t.name);
  }
  const d: InterfaceDescriptor = {
    id: interfaceKey(pkg.id, iface.name),
    functions: iface.functions.map((f) => ({ wit: f.name, js: camelCase(f.name), ...(f.result === undefined ? { noResult: true as const } : {}) })),
    resources,
  };
  if (pkg.id.version) d.version = pkg.id.version;
  if (opens) d.opens = opens;
  return d;
}
