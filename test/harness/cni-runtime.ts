// A CNI runtime for tests, following the spec's "Section 3: Execution of network configurations" and
// "Section 4: Plugin delegation" the way libcni does: each plugin of a conflist gets its config with
// `name` and `cniVersion` injected, `runtimeConfig` built from its declared `capabilities`, `prevResult`
// from the plugin before it (ADD) or the cached result (CHECK, DEL from 0.4.0 on); DEL runs the chain in
// reverse; GC passes `cni.dev/valid-attachments`; GC and STATUS skip plugins whose VERSION does not
// list 1.1.0 (libcni does the same). Parameters travel as CNI_* environment variables and the config on
// stdin, exactly as the spec says; a plugin's failure is its error object on stdout.
//
// Plugins can be run inside a given netns ("the node"): portmap and bandwidth act on the namespace they
// run in, and a node in these tests is a netns.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [k: string]: unknown;
}

export interface NetConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

export interface RuntimeAttachment {
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs, e.g. [['K8S_POD_NAME', 'web-0']]. */
  args?: Array<[string, string]>;
  /** Capability arguments (portMappings, bandwidth, ...), passed as runtimeConfig when a plugin declares them. */
  capabilityArgs?: Record<string, unknown>;
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export class CniPluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly cniCode: number,
    readonly msg: string,
    readonly details: string,
    readonly exitCode: number,
  ) {
    super(`${plugin} ${command} failed: code ${cniCode}: ${msg}${details ? ` (${details})` : ''}`);
  }
}

export interface RuntimeOptions {
  binDirs: string[];
  /** Run plugins inside this netns path (nsenter --net); default: the caller's namespace. */
  hostNetns?: string;
  /** Per-plugin execution timeout. */
  timeoutMs?: number;
}

type Result = Record<string, unknown>;

export class CniRuntime {
  /** The cached result per (network, containerID, ifname), like libcni's cache dir. */
  private readonly cache = new Map<string, Result>();

  constructor(private readonly opts: RuntimeOptions) {}

  private findPlugin(type: string): string {
    // CNI SPEC "Section 3": the runtime finds the binary named by `type` in CNI_PATH.
    for (const d of this.opts.binDirs) {
      const p = join(d, type);
      if (existsSync(p)) return p;
    }
    throw new Error(`plugin ${type} not found in ${this.opts.binDirs.join(':')}`);
  }

  /** Runs one plugin with the spec's environment and the config on stdin. */
  async exec(type: string, env: Record<string, string>, stdin: string): Promise<PluginRun> {
    const bin = this.findPlugin(type);
    const fullEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_PATH: this.opts.binDirs.join(':'), ...env };
    const [cmd, args] = this.opts.hostNetns ? ['nsenter', [`--net=${this.opts.hostNetns}`, '--', bin]] : [bin, []];
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args as string[], { env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), this.opts.timeoutMs ?? 60_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - started });
      });
      child.stdin.end(stdin);
    });
  }

  /** exec + the spec's error handling: non-zero exit means stdout holds an error object. */
  async invoke(type: string, command: string, env: Record<string, string>, conf: Result): Promise<Result | undefined> {
    const r = await this.exec(type, { CNI_COMMAND: command, ...env }, JSON.stringify(conf));
    if (r.code !== 0) {
      let e: { code?: number; msg?: string; details?: string } = {};
      try { e = JSON.parse(r.stdout) as typeof e; } catch { /* not JSON: reported below */ }
      throw new CniPluginError(type, command, e.code ?? -1, e.msg ?? `exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`, e.details ?? '', r.code);
    }
    if (!r.stdout.trim()) return undefined;
    return JSON.parse(r.stdout) as Result;
  }

  /** libcni buildOneConfig: name, cniVersion, runtimeConfig from capabilities, prevResult. */
  static pluginConfig(list: NetConfList, p: PluginConf, att: RuntimeAttachment | undefined, prevResult?: Result): Result {
    const conf: Result = { ...p, name: list.name, cniVersion: list.cniVersion };
    const rc: Result = {};
    for (const [cap, on] of Object.entries(p.capabilities ?? {})) {
      if (on && att?.capabilityArgs?.[cap] !== undefined) rc[cap] = att.capabilityArgs[cap];
    }
    if (Object.keys(rc).length) conf.runtimeConfig = rc;
    if (prevResult) conf.prevResult = prevResult;
    return conf;
  }

  private env(att: RuntimeAttachment, withNetns = true): Record<string, string> {
    const e: Record<string, string> = { CNI_CONTAINERID: att.containerId, CNI_IFNAME: att.ifname };
    if (withNetns && att.netns) e.CNI_NETNS = att.netns;
    if (att.args?.length) e.CNI_ARGS = att.args.map(([k, v]) => `${k}=${v}`).join(';');
    return e;
  }

  private key(list: NetConfList, att: RuntimeAttachment): string {
    return `${list.name}/${att.containerId}/${att.ifname}`;
  }

  cachedResult(list: NetConfList, att: RuntimeAttachment): Result | undefined {
    return this.cache.get(this.key(list, att));
  }

  async add(list: NetConfList, att: RuntimeAttachment): Promise<Result> {
    let prev: Result | undefined;
    for (const p of list.plugins) {
      prev = await this.invoke(p.type, 'ADD', this.env(att), CniRuntime.pluginConfig(list, p, att, prev));
    }
    if (!prev) throw new Error(`network ${list.name}: the chain returned no result`);
    this.cache.set(this.key(list, att), prev);
    return prev;
  }

  async check(list: NetConfList, att: RuntimeAttachment): Promise<void> {
    const cached = this.cachedResult(list, att);
    if (!cached) throw new Error(`no cached result for ${this.key(list, att)}`);
    for (const p of list.plugins) {
      await this.invoke(p.type, 'CHECK', this.env(att), CniRuntime.pluginConfig(list, p, att, cached));
    }
  }

  /** DEL in reverse order; an empty netns means "the netns is gone" (CNI SPEC "DEL": CNI_NETNS may be empty). */
  async del(list: NetConfList, att: RuntimeAttachment): Promise<void> {
    const cached = this.cachedResult(list, att);
    // prevResult on DEL is defined from 0.4.0 on (CNI SPEC "DEL").
    const passPrev = cached && !list.cniVersion.startsWith('0.3');
    for (const p of [...list.plugins].reverse()) {
      await this.invoke(p.type, 'DEL', this.env(att, !!att.netns), CniRuntime.pluginConfig(list, p, att, passPrev ? cached : undefined));
    }
    this.cache.delete(this.key(list, att));
  }

  private async supports11(type: string): Promise<boolean> {
    const r = await this.exec(type, { CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '1.1.0' }));
    if (r.code !== 0) return false;
    const v = JSON.parse(r.stdout) as { supportedVersions?: string[] };
    return (v.supportedVersions ?? []).includes('1.1.0');
  }

  async gc(list: NetConfList, valid: Array<{ containerID: string; ifname: string }>): Promise<void> {
    for (const p of list.plugins) {
      if (!(await this.supports11(p.type))) continue;
      const conf = CniRuntime.pluginConfig(list, p, undefined);
      conf['cni.dev/valid-attachments'] = valid;
      await this.invoke(p.type, 'GC', {}, conf);
    }
  }

  async status(list: NetConfList): Promise<void> {
    for (const p of list.plugins) {
      if (!(await this.supports11(p.type))) continue;
      await this.invoke(p.type, 'STATUS', {}, CniRuntime.pluginConfig(list, p, undefined));
    }
  }

  async version(type: string, cniVersion = '1.1.0'): Promise<Result> {
    const r = await this.exec(type, { CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion }));
    return JSON.parse(r.stdout) as Result;
  }
}
