// `edge dev`: a host plus a watcher that redeploys the worker on every change to its directory or to any file
// its bundle was made from (npm packages in node_modules, files outside the directory).

import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { Command, Option } from 'commander';
import { collectWorker, type DeployUpload } from '../deploy/upload.ts';
import { parseManifestText } from '../deploy/manifest.ts';
import { DEV_VARS_FILE, readDevVars, syncDevSecrets } from './dev-vars.ts';
import { uploadAssets } from './asset-upload.ts';
import { findHostConfig } from '../core/host-config.ts';
import { EdgeError } from '../core/errors.ts';
import { AdminClient } from './admin-client.ts';
import { formatDeployResult } from './deploy.ts';
import { formatError, formatTailEvent, paint } from './output.ts';
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT, parsePort } from './options.ts';
import { CLOSE_TIMEOUT_MS, printHostBanner, startHost } from './serve.ts';
import { waitForShutdownSignal } from './signals.ts';

const DEBOUNCE_MS = 100;
const IGNORED_DIRS = new Set(['node_modules', '.edge', '.git']);
// .ts: AssemblyScript workers' and bundled workers' sources; bundle inputs elsewhere are watched one by one.
const RELEVANT = /(\.[mc]?[jt]sx?|\.json|^wrangler\.(toml|json|jsonc))$/;

const stamp = () => paint('dim', `[${new Date().toTimeString().slice(0, 8)}]`);

/**
 * Redeploys at most one at a time: changes arriving during a deploy are coalesced into one more deploy after it.
 * An upload identical to the last successful one is skipped, so saving a file unchanged does not mint a version.
 */
class Redeployer {
  #client: AdminClient;
  #dir: string;
  #running: Promise<void> | undefined;
  #again = false;
  #lastUploaded: string | undefined;
  #config: string | undefined;
  #inputs: (files: string[]) => void;
  #lastInputs: string[] = [];
  #env: string | undefined;
  /** The `.dev.vars` secrets last given to the host (JSON), undefined before any. */
  #lastDevVars: string | undefined;
  /** The static assets directory of the last collection (absolute), whose files redeploy whatever their type. */
  #assetsDir: string | undefined;

  /** `inputs` hears the files each successful bundle read, so that the watcher follows them. `env`: --env. */
  constructor(client: AdminClient, dir: string, config: string | undefined, inputs: (files: string[]) => void, env?: string) {
    this.#client = client;
    this.#dir = dir;
    this.#config = config;
    this.#inputs = inputs;
    this.#env = env;
  }

  /** `.dev.vars` (or `.env`) as the worker's secrets on this dev host, when it changed (names printed, never values). */
  async #syncDevVars(upload: DeployUpload): Promise<void> {
    const vars = await readDevVars(this.#dir, this.#env);
    const key = JSON.stringify(vars);
    // Without a file, secrets set otherwise (`edge secret put`) are left alone, unless a file this session put gave them.
    if (key === this.#lastDevVars || (vars === null && this.#lastDevVars === undefined)) return;
    const { name } = parseManifestText(upload.manifest.content, upload.manifest.fileName, this.#env === undefined ? {} : { env: this.#env });
    await syncDevSecrets(this.#client, name, vars?.values ?? {});
    this.#lastDevVars = key;
    const names = Object.keys(vars?.values ?? {});
    process.stdout.write(`${stamp()} ${vars ? `${vars.file}: ${names.length} secret${names.length === 1 ? '' : 's'} in env${names.length ? ` (${names.join(', ')})` : ''}` : 'no .dev.vars or .env any more: its secrets are removed'}\n`);
  }

  trigger(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#deployOnce();
      } while (this.#again);
      this.#running = undefined;
    })();
    return this.#running;
  }

  /** Whether `path` is in the worker's static assets directory. */
  isAsset(path: string): boolean {
    if (this.#assetsDir === undefined) return false;
    const rel = relative(this.#assetsDir, path);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  }

  idle(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  async #deployOnce(): Promise<void> {
    let upload: DeployUpload;
    try {
      const collected = await collectWorker(this.#dir, { ...(this.#config === undefined ? {} : { config: this.#config }), ...(this.#env === undefined ? {} : { env: this.#env }), mode: 'development' });
      upload = collected.upload;
      await this.#syncDevVars(upload);
      this.#lastInputs = collected.inputs;
      this.#inputs(collected.inputs);
      for (const w of collected.warnings) process.stderr.write(`${stamp()} ${paint('yellow', 'warning')} ${w}\n`);
      const key = JSON.stringify(upload);
      if (key === this.#lastUploaded) {
        process.stdout.write(`${stamp()} no change to the upload; still serving the same version\n`);
        return;
      }
      this.#assetsDir = collected.assets?.dir;
      if (collected.assets) await uploadAssets(this.#client, collected.assets);
      const result = await this.#client.deploy(upload);
      this.#lastUploaded = key;
      for (const w of result.warnings ?? []) process.stderr.write(`${stamp()} ${paint('yellow', 'warning', process.stderr)} ${w}\n`);
      process.stdout.write(`${stamp()} ${formatDeployResult(result, collected)}`);
    } catch (e) {
      // A failed bundle has no list of inputs: keep the last one and add the file the error is in, so that fixing it
      // rebuilds even when it is a new import outside the directory.
      const file = e instanceof EdgeError && e.code === 'E_BUNDLE_FAILED' ? e.details?.['file'] : undefined;
      if (typeof file === 'string') this.#inputs([...this.#lastInputs, resolve(this.#dir, file)]);
      process.stderr.write(`${stamp()} ${formatError(e)}${this.#lastUploaded ? `${stamp()} the previous version keeps serving\n` : ''}`);
    }
  }
}

/** Whether the directory watcher misses `file`: outside the worker directory, in an ignored or hidden directory. */
function isOutsideDirWatch(root: string, file: string): boolean {
  const rel = relative(root, file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return true;
  return rel.split(sep).some((part) => IGNORED_DIRS.has(part) || part.startsWith('.')) || !RELEVANT.test(rel);
}

export function devCommand(): Command {
  return new Command('dev')
    .summary('serve a worker locally and redeploy it on every change')
    .description(
      'Start a host with its data in <dir>/.edge, deploy the worker in [dir] (bundled with esbuild unless no_bundle, as ' +
        '`edge deploy` does), then redeploy on every change to its manifest, its sources or any file the bundle read ' +
        '(npm packages included). A failed redeploy prints the error (a bundling error with file:line:col) and the last ' +
        'good version keeps serving.',
    )
    .argument('[dir]', 'worker directory', '.')
    .addOption(new Option('--port <port>', 'data-plane port (0 picks a free one)').default(DEFAULT_PORT).argParser(parsePort))
    .addOption(new Option('--admin-port <port>', 'admin API port (0 picks a free one)').default(DEFAULT_ADMIN_PORT).argParser(parsePort))
    .addOption(new Option('--s3-port <port>', 'S3-compatible endpoint port (default 8789, or a free one with --port 0)').argParser(parsePort))
    .option('--config <file>', 'host config naming user-defined capabilities (default: the nearest edge.config.ts above [dir])')
    .option('--env <name>', "serve the manifest's [env.<name>] section (and .dev.vars.<name> when there is one)")
    .option('--egress-allow <cidr...>', "private addresses or CIDR ranges workers' fetch() may reach (denied by default), e.g. 127.0.0.1/32")
    .addHelpText('after', '\nSecrets: .dev.vars (or .env) in [dir], dotenv lines KEY=value, are in env like vars (and override them); edits apply on save.\n\nExamples:\n  $ edge dev examples/hello-js\n  $ edge dev examples/hello-as      # AssemblyScript: rebuilt on every change\n  $ edge dev . --port 3000 --admin-port 3001\n  $ edge dev . --egress-allow 127.0.0.1   # let fetch() reach a server on this machine')
    .action(async (dir: string, opts: { port: number; adminPort: number; s3Port?: number; config?: string; env?: string; egressAllow?: string[] }) => {
      const root = resolve(dir);
      const dataDir = join(root, '.edge');
      const shutdown = waitForShutdownSignal({ forceAfterMs: CLOSE_TIMEOUT_MS });
      const configPath = opts.config !== undefined ? resolve(opts.config) : await findHostConfig(root);
      // dev: GET /__scheduled?cron=... on a worker's URL runs its scheduled handler (wrangler dev --test-scheduled).
      const host = await startHost({ dataDir, port: opts.port, adminPort: opts.adminPort, ...(opts.s3Port !== undefined ? { s3Port: opts.s3Port } : {}), ...(opts.egressAllow ? { egress: { allow: opts.egressAllow } } : {}), configPath, dev: true });
      printHostBanner(host, dataDir);
      // Like `wrangler dev`: the worker's console output, exceptions and limit breaches in this terminal.
      host.logs.subscribeAll((ev) => process.stdout.write(formatTailEvent(ev)), { requests: true });
      let timer: NodeJS.Timeout | undefined;
      const changed = new Set<string>();
      const onChange = (rel: string) => {
        changed.add(rel || '.');
        clearTimeout(timer);
        timer = setTimeout(() => {
          process.stdout.write(`${stamp()} changed: ${[...changed].join(', ')}; redeploying\n`);
          changed.clear();
          void redeployer.trigger();
        }, DEBOUNCE_MS);
      };
      // The bundle's inputs outside what the directory watcher sees (node_modules, parent directories), one by one;
      // the set follows the last successful bundle.
      let inputWatcher: FSWatcher | undefined;
      let watchedInputs = new Set<string>();
      const followInputs = (files: string[]) => {
        const wanted = new Set(files.filter((f) => isOutsideDirWatch(root, f)));
        const added = [...wanted].filter((f) => !watchedInputs.has(f));
        const removed = [...watchedInputs].filter((f) => !wanted.has(f));
        watchedInputs = wanted;
        if (added.length === 0 && removed.length === 0) return;
        if (!inputWatcher) {
          inputWatcher = watch([], { ignoreInitial: true });
          inputWatcher.on('all', (_event, path) => onChange(relative(root, path)));
          inputWatcher.on('error', (e) => process.stderr.write(`${stamp()} watch error: ${e instanceof Error ? e.message : String(e)}\n`));
        }
        if (removed.length) inputWatcher.unwatch(removed);
        if (added.length) inputWatcher.add(added);
      };
      const redeployer = new Redeployer(new AdminClient({ adminUrl: host.adminUrl, token: host.adminToken }), root, configPath ?? undefined, followInputs, opts.env);
      await redeployer.trigger();

      const watcher = watch(root, {
        ignoreInitial: true,
        // Hidden files are not watched, but for .dev.vars and .env (files at the top: a `.env` directory is a virtualenv).
        ignored: (path: string, stats?: { isDirectory(): boolean }) => {
          const rel = relative(root, path);
          if (DEV_VARS_FILE.test(rel)) return stats?.isDirectory() === true;
          return rel.split(sep).some((part) => IGNORED_DIRS.has(part) || (part.startsWith('.') && part !== '.' && part !== '..'));
        },
      });
      watcher.on('all', (event, path) => {
        const rel = relative(root, path);
        if ((event === 'add' || event === 'change' || event === 'unlink') && !RELEVANT.test(rel) && !DEV_VARS_FILE.test(rel) && !redeployer.isAsset(path)) return;
        onChange(rel);
      });
      watcher.on('error', (e) => process.stderr.write(`${stamp()} watch error: ${e instanceof Error ? e.message : String(e)}\n`));
      await new Promise<void>((ready) => watcher.once('ready', () => ready()));
      process.stdout.write(`watching ${root} for changes; press Ctrl-C to stop\n`);

      const signal = await shutdown;
      process.stdout.write(`${signal}: closing…\n`);
      clearTimeout(timer);
      await watcher.close();
      await inputWatcher?.close();
      await redeployer.idle();
      await host.close();
      process.stdout.write('closed\n');
    });
}
