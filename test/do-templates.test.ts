// Durable Objects as Cloudflare's templates write them, deployed unmodified from their directories: the shape of
// `hello-world-do-template` (TypeScript, `extends DurableObject` from cloudflare:workers, JS RPC, new_sqlite_classes,
// a wrangler.json with dashboard keys) and of the C3 durable object starter (fetch to the stub, ctx.storage).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import { connect } from './helpers/ws-client.ts';

const HELLO_DO = {
  'wrangler.json': JSON.stringify(
    {
      $schema: 'node_modules/wrangler/config-schema.json',
      name: 'hello-world-do-template',
      main: 'src/index.ts',
      compatibility_date: '2025-04-01',
      migrations: [{ new_sqlite_classes: ['MyDurableObject'], tag: 'v1' }],
      durable_objects: { bindings: [{ class_name: 'MyDurableObject', name: 'MY_DURABLE_OBJECT' }] },
      observability: { enabled: true },
      upload_source_maps: true,
    },
    null,
    2,
  ),
  'src/index.ts': `import { DurableObject } from "cloudflare:workers";

/** A Durable Object's behavior is defined in an exported Javascript class */
export class MyDurableObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
  }

  async sayHello(name: string): Promise<string> {
    return \`Hello, \${name}!\`;
  }
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const stub = env.MY_DURABLE_OBJECT.getByName(new URL(request.url).pathname);
    const greeting = await stub.sayHello("world");
    return new Response(greeting);
  },
} satisfies ExportedHandler<Env>;
`,
  'worker-configuration.d.ts': 'interface Env { MY_DURABLE_OBJECT: DurableObjectNamespace<import("./src/index").MyDurableObject>; }\n',
  'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'es2021', module: 'es2022', moduleResolution: 'Bundler', strict: true, types: ['./worker-configuration.d.ts'] } }),
  'package.json': JSON.stringify({ name: 'hello-world-do-template', private: true, scripts: { deploy: 'wrangler deploy' } }),
};

const C3_STARTER = {
  'wrangler.toml': `name = "do-starter"
main = "src/index.js"
compatibility_date = "2025-04-01"

[[durable_objects.bindings]]
name = "MY_DURABLE_OBJECT"
class_name = "MyDurableObject"

[[migrations]]
tag = "v1"
new_classes = ["MyDurableObject"]

[observability]
enabled = true
`,
  'src/index.js': `import { DurableObject } from "cloudflare:workers";

export class MyDurableObject extends DurableObject {
  async fetch(request) {
    let value = (await this.ctx.storage.get("value")) || 0;
    value += 1;
    await this.ctx.storage.put("value", value);
    return new Response(String(value) + " " + (this.env === undefined ? "no env" : "env"));
  }
}

export default {
  async fetch(request, env) {
    const id = env.MY_DURABLE_OBJECT.idFromName("foo");
    const stub = env.MY_DURABLE_OBJECT.get(id);
    return stub.fetch(request);
  },
};
`,
};

// The shape of durable-chat-template's server: WebSockets accepted by the object with hibernation, a broadcast to
// every socket the object holds.
const CHAT = {
  'wrangler.toml': `name = "chat-shape"
main = "src/index.js"
compatibility_date = "2025-04-01"

[[durable_objects.bindings]]
name = "Chat"
class_name = "Chat"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Chat"]
`,
  'src/index.js': `import { DurableObject } from "cloudflare:workers";

export class Chat extends DurableObject {
  async fetch(request) {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  webSocketMessage(ws, message) {
    for (const other of this.ctx.getWebSockets()) other.send(message);
  }
}

export default {
  fetch(request, env) {
    return env.Chat.getByName("room").fetch(request);
  },
};
`,
};

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-do-template-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

describe("Cloudflare's Durable Object templates, unmodified", () => {
  let t: TestHost;
  const dirs: string[] = [];
  beforeAll(async () => {
    t = await startTestHost();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('hello-world-do-template: TypeScript, extends DurableObject, RPC', async () => {
    const dir = await project(HELLO_DO);
    dirs.push(dir);
    const res = await t.admin('POST', '/v1/workers', await collectUpload(dir));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const r = await t.get('hello-world-do-template', '/some/path');
    expect(r.status, r.text).toBe(200);
    expect(r.text).toBe('Hello, world!');
  });

  it('the C3 Durable Object starter: fetch to the stub, ctx.storage, this.env', async () => {
    const dir = await project(C3_STARTER);
    dirs.push(dir);
    const res = await t.admin('POST', '/v1/workers', await collectUpload(dir));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((await t.get('do-starter', '/')).text).toBe('1 env');
    expect((await t.get('do-starter', '/')).text).toBe('2 env');
  });

  it('the durable-chat shape: hibernatable WebSockets in the object, a message broadcast to every member', async () => {
    const dir = await project(CHAT);
    dirs.push(dir);
    const res = await t.admin('POST', '/v1/workers', await collectUpload(dir));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const a = await connect(t, 'chat-shape');
    const b = await connect(t, 'chat-shape');
    a.ws.send('hello room');
    expect(await a.next()).toBe('hello room');
    expect(await b.next()).toBe('hello room');
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
  });
});
