/**
 * The deployment files (Dockerfile, docker-compose.yml, deploy/, k8s/) checked against the code
 * they deploy: every RFS_* variable they set is one the code reads, every probe, healthcheck,
 * Service, proxy upstream and scrape target reaches the port and path the server really serves,
 * every reference (Secret, ConfigMap, headless Service, depends_on) resolves, the Grafana
 * dashboard charts only metrics the code registers, and every Kubernetes object passes the
 * Kubernetes API schema (kubernetes-models), unknown fields included.
 *
 * Names the code reads and metric names are computed from the sources, never listed here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import * as ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';

type Obj = Record<string, any>;

const ROOT = path.resolve(__dirname, '..');
const SOURCE_DIRS = ['gateway', 'storage-node', 'metadata'];
/** Test code and its helpers: what they read is no setting of the deployed servers. */
const NOT_SERVER_CODE = /\.(test|testing|contract|fixture)\.ts$|\.d\.ts$/;

/** What each server listens on and serves (gateway/config.ts, gateway/server.ts, storage-node/protocol.ts). */
const ROLES = {
  gateway: { portVar: 'RFS_PORT', hostVar: 'RFS_HOST', defaultPort: 9000, health: '/_rfs/health', metrics: '/_rfs/metrics' },
  node: { portVar: 'RFS_NODE_PORT', hostVar: 'RFS_NODE_HOST', defaultPort: 9100, health: '/health', metrics: '/metrics' },
} as const;
type Role = keyof typeof ROLES;

const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

const serverSources: { file: string; text: string }[] = SOURCE_DIRS.flatMap((d) => walk(path.join(ROOT, d)))
  .filter((f) => f.endsWith('.ts') && !NOT_SERVER_CODE.test(f))
  .map((file) => ({ file: path.relative(ROOT, file), text: readFileSync(file, 'utf8') }));

/** RFS_* names the server code reads from its environment: `env.X` / `process.env.X`,
 * `env['X']`, `const { X } = process.env`, and a helper given the name to read (`int('RFS_PORT', 9000)`
 * in gateway/config.ts looks up `env[name]`). */
function envNamesReadByCode(): Set<string> {
  const names = new Set<string>();
  const add = (re: RegExp, text: string) => {
    for (const m of text.matchAll(re)) names.add(m[1]);
  };
  for (const { text } of serverSources) {
    add(/\benv\??\.(RFS_[A-Z0-9_]+)\b/g, text);
    add(/\benv\??\.?\[\s*['"`](RFS_[A-Z0-9_]+)['"`]\s*\]/g, text);
    add(/\b[A-Za-z_$][\w$]*\(\s*['"`](RFS_[A-Z0-9_]+)['"`]\s*[,)]/g, text);
    for (const m of text.matchAll(/\{([^{}]*)\}\s*=\s*(?:process\.)?env\b/g)) add(/\b(RFS_[A-Z0-9_]+)\b/g, m[1]);
  }
  return names;
}

/** Metric names registered in the server code, and which are histograms: `name: 'rfs_...'` in a
 * metric's options, or the name given to a helper that makes one
 * (`statusGauge('rfs_node_chunks', ...)` in storage-node/metrics.ts). */
function registeredMetrics(): { names: Set<string>; histograms: Set<string> } {
  const names = new Set<string>();
  const histograms = new Set<string>();
  for (const { text } of serverSources) {
    for (const m of text.matchAll(/\bname:\s*['"`](rfs_[a-z0-9_]+)['"`]/g)) names.add(m[1]);
    for (const m of text.matchAll(/\b[A-Za-z_$][\w$]*\(\s*['"`](rfs_[a-z0-9_]+)['"`]\s*,/g)) names.add(m[1]);
    for (const m of text.matchAll(/new\s+(?:client\.)?Histogram\s*(?:<[^>]*>)?\s*\(\s*\{[^}]*?\bname:\s*['"`](rfs_[a-z0-9_]+)['"`]/g)) histograms.add(m[1]);
  }
  return { names, histograms };
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Dockerfile {
  env: Record<string, string>;
  cmd: string;
  healthcheck: string;
}

function parseDockerfile(): Dockerfile {
  const lines = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  // The last stage is the image that runs.
  const lastFrom = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  const runtime = lines.slice(lastFrom);
  const env: Record<string, string> = {};
  for (const l of runtime.filter((x) => /^ENV\s/i.test(x))) {
    for (const m of l.replace(/^ENV\s+/i, '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  const last = (kw: string) => runtime.filter((x) => new RegExp(`^${kw}\\s`, 'i').test(x)).pop() ?? '';
  return { env, cmd: last('CMD'), healthcheck: last('HEALTHCHECK') };
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

const compose: Obj = parse(read('docker-compose.yml'), { merge: true });
const services: Record<string, Obj> = compose.services;
const dockerfile = parseDockerfile();

function composeEnv(svc: Obj): Record<string, string> {
  const e = svc.environment;
  if (!e) return {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv: string) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

const asText = (x: unknown): string => (Array.isArray(x) ? x.join(' ') : x === undefined || x === null ? '' : String(x));

/** Which rfs server a container runs, from its command; undefined for anything else. */
function roleOf(command: string, isRfsImage: boolean): Role | undefined {
  if (/dist\/storage-node\/main\.js/.test(command)) return 'node';
  if (/dist\/gateway\/main\.js/.test(command)) return 'gateway';
  if (isRfsImage && command.trim() === '') return roleOf(dockerfile.cmd, false);
  return undefined;
}

function composeRole(svc: Obj): Role | undefined {
  const isRfsImage = svc.build !== undefined;
  return roleOf(`${asText(svc.entrypoint)} ${asText(svc.command)}`.trim(), isRfsImage);
}

/** The server's view of its environment: the image's ENV overlaid by the service's. */
function rolePort(role: Role, env: Record<string, string>): number {
  const raw = env[ROLES[role].portVar];
  return raw === undefined || raw === '' ? ROLES[role].defaultPort : Number(raw);
}

const rfsServices = Object.entries(services)
  .map(([name, svc]) => ({ name, svc, role: composeRole(svc), env: { ...dockerfile.env, ...composeEnv(svc) } }))
  .filter((s): s is { name: string; svc: Obj; role: Role; env: Record<string, string> } => s.role !== undefined);

/** Loopback URLs in a healthcheck command. */
function localUrls(text: string): { port: number; path: string }[] {
  return [...text.matchAll(/https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):(\d+)(\/[^'"\s)`]*)/g)].map((m) => ({ port: Number(m[1]), path: m[2] }));
}

/** Container-side port of a compose `ports`/`expose` entry. */
function containerPort(entry: unknown): number {
  if (typeof entry === 'object' && entry !== null) return Number((entry as Obj).target);
  const s = String(entry).replace(/\/(tcp|udp)$/, '');
  return Number(s.split(':').pop());
}

// ---------------------------------------------------------------------------------------------
// k8s/

interface K8sDoc {
  file: string;
  obj: Obj;
}

const K8S_DIR = path.join(ROOT, 'k8s');
const k8sFiles = readdirSync(K8S_DIR).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
const kustomization: Obj = parse(readFileSync(path.join(K8S_DIR, 'kustomization.yaml'), 'utf8'));
const k8sDocs: K8sDoc[] = k8sFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(K8S_DIR, file), 'utf8'))
    .map((d) => {
      if (d.errors.length) throw new Error(`k8s/${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null)
    .map((obj) => ({ file, obj })),
);
const defaultNamespace: string = kustomization.namespace ?? 'default';
const nsOf = (o: Obj): string => o.metadata?.namespace ?? defaultNamespace;
const idOf = (d: K8sDoc): string => `k8s/${d.file} ${d.obj.kind}/${d.obj.metadata?.name}`;
const find = (kind: string, ns: string, name: string): Obj | undefined =>
  k8sDocs.find((d) => d.obj.kind === kind && nsOf(d.obj) === ns && d.obj.metadata?.name === name)?.obj;

/** Workloads and the pod template each runs. */
const workloads = k8sDocs
  .filter((d) => ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(d.obj.kind))
  .map((d) => ({ ...d, template: d.obj.spec?.template as Obj }));
const podTemplates = [
  ...workloads.map((w) => ({ id: idOf(w), ns: nsOf(w.obj), meta: (w.template?.metadata ?? {}) as Obj, spec: w.template?.spec as Obj, workload: w.obj })),
  ...k8sDocs.filter((d) => d.obj.kind === 'Pod').map((d) => ({ id: idOf(d), ns: nsOf(d.obj), meta: (d.obj.metadata ?? {}) as Obj, spec: d.obj.spec as Obj, workload: d.obj })),
].map((p) => ({ ...p, labels: (p.meta.labels ?? {}) as Record<string, string> }));
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
function labelSelectorMatches(sel: Obj, labels: Record<string, string>): boolean {
  if (!matches(sel.matchLabels ?? {}, labels)) return false;
  return (sel.matchExpressions ?? []).every((e: Obj) => {
    const has = e.key in labels;
    switch (e.operator) {
      case 'In': return has && e.values.includes(labels[e.key]);
      case 'NotIn': return !has || !e.values.includes(labels[e.key]);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: return false;
    }
  });
}

interface K8sContainer {
  id: string;
  ns: string;
  container: Obj;
  pod: (typeof podTemplates)[number];
  role: Role | undefined;
  /** Literal env values, with envFrom ConfigMaps and Secrets' stringData, plus the image's ENV. */
  env: Record<string, string>;
}

const isRfsK8sImage = (image: string) => /(^|\/)rfs(:|@|$)/.test(image);
const k8sContainers: K8sContainer[] = podTemplates.flatMap((pod) =>
  [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((container: Obj) => {
    const rfs = isRfsK8sImage(String(container.image ?? ''));
    const env: Record<string, string> = rfs ? { ...dockerfile.env } : {};
    for (const from of container.envFrom ?? []) {
      const ref = from.configMapRef ?? from.secretRef;
      const src = ref && find(from.configMapRef ? 'ConfigMap' : 'Secret', pod.ns, ref.name);
      const data = { ...(src?.data ?? {}), ...(src?.stringData ?? {}) };
      for (const [k, v] of Object.entries(data)) env[(from.prefix ?? '') + k] = String(v);
    }
    for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = String(e.value);
    return {
      id: `${pod.id} container ${container.name}`,
      ns: pod.ns,
      container,
      pod,
      role: roleOf(`${asText(container.command)} ${asText(container.args)}`.trim(), rfs),
      env,
    };
  }),
);

/** A probe's or Service's port, named or numeric, as a container port number. */
function resolvePort(port: unknown, containers: Obj[]): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(String(port))) return Number(port);
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes API schemas: kubernetes-models' ajv validators (types, required fields, enums,
// formats) and, because those let unknown fields through, its TypeScript interfaces, which
// the compiler's excess-property check holds every field of every object literal against.

function modelClass(apiVersion: string, kind: string): (new (data: Obj) => { validate(): void }) | undefined {
  try {
    return require(`kubernetes-models/${apiVersion}`)[kind];
  } catch {
    return undefined;
  }
}

function schemaErrors(objects: Obj[]): string[][] {
  const errors: string[][] = objects.map(() => []);
  objects.forEach((o, i) => {
    const Model = modelClass(o.apiVersion, o.kind);
    if (!Model) {
      errors[i].push(`no schema for ${o.apiVersion} ${o.kind}`);
      return;
    }
    try {
      new Model(o).validate();
    } catch (e) {
      errors[i].push(e instanceof Error ? e.message : String(e));
    }
  });
  // One program for all objects: the type definitions load once.
  const file = path.join(ROOT, 'deploy', '__k8s_objects__.ts');
  const spans: [number, number][] = [];
  let text = '';
  objects.forEach((o, i) => {
    if (!modelClass(o.apiVersion, o.kind)) return;
    text += `import type { I${o.kind} as T${i} } from 'kubernetes-models/${o.apiVersion}/${o.kind}';\n`;
  });
  objects.forEach((o, i) => {
    if (!modelClass(o.apiVersion, o.kind)) return;
    const start = text.length;
    text += `export const o${i}: T${i} = ${JSON.stringify(o, null, 1)};\n`;
    spans[i] = [start, text.length];
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) => (path.resolve(name) === file ? ts.createSourceFile(name, text, lang) : getSourceFile.call(host, name, lang, ...rest));
  host.fileExists = (name) => path.resolve(name) === file || fileExists.call(host, name);
  host.readFile = (name) => (path.resolve(name) === file ? text : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file)!;
  for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
    const at = d.start ?? 0;
    const i = spans.findIndex((s) => s !== undefined && at >= s[0] && at < s[1]);
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (i >= 0) errors[i].push(message);
    else throw new Error(`checking the k8s objects failed: ${message}`);
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------

describe('environment variables', () => {
  const readByCode = envNamesReadByCode();

  test('the scan of the sources finds what gateway/config.ts reads', () => {
    // Guards the scan itself: if these vanish, the patterns above no longer match the code.
    for (const name of ['RFS_HOST', 'RFS_PORT', 'RFS_DATABASE_URL', 'RFS_REDIS_URL']) expect(readByCode).toContain(name);
  });

  test('every RFS_* variable the deployment sets is one the code reads', () => {
    const set = new Map<string, string[]>();
    const note = (name: string, where: string) => {
      if (name.startsWith('RFS_')) set.set(name, [...(set.get(name) ?? []), where]);
    };
    for (const name of Object.keys(dockerfile.env)) note(name, 'Dockerfile');
    for (const [svcName, svc] of Object.entries(services)) for (const name of Object.keys(composeEnv(svc))) note(name, `docker-compose.yml ${svcName}`);
    for (const c of k8sContainers) for (const e of c.container.env ?? []) note(e.name, c.id);
    for (const d of k8sDocs.filter((x) => x.obj.kind === 'ConfigMap' || x.obj.kind === 'Secret')) {
      for (const name of Object.keys({ ...(d.obj.data ?? {}), ...(d.obj.stringData ?? {}) })) note(name, idOf(d));
    }
    expect(set.size).toBeGreaterThan(0);
    const unread = [...set.entries()].filter(([name]) => !readByCode.has(name)).map(([name, where]) => `${name} (set in ${[...new Set(where)].join(', ')})`);
    expect(unread).toEqual([]);
  });
});

describe('Dockerfile', () => {
  test('runs the gateway by default, as a non-root user, with a healthcheck on its health path and port', () => {
    expect(dockerfile.cmd).toMatch(/dist\/gateway\/main\.js/);
    const text = read('Dockerfile');
    const user = [...text.matchAll(/^USER\s+(\S+)/gm)].pop()?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(dockerfile.healthcheck).toContain(ROLES.gateway.health);
    // The port comes from RFS_PORT with the server's own default.
    expect(dockerfile.healthcheck).toMatch(new RegExp(`process\\.env\\.${ROLES.gateway.portVar}\\s*\\|\\|\\s*${ROLES.gateway.defaultPort}\\b`));
    expect(dockerfile.env.RFS_HOST ?? '').toBe('0.0.0.0');
  });
});

describe('docker-compose.yml', () => {
  test('has the gateways and storage nodes', () => {
    expect(rfsServices.filter((s) => s.role === 'gateway').length).toBeGreaterThanOrEqual(2);
    expect(rfsServices.filter((s) => s.role === 'node').length).toBeGreaterThanOrEqual(3);
  });

  test('rfs servers listen on every interface, and healthchecks and ports use their port and health path', () => {
    const problems: string[] = [];
    for (const { name, svc, role, env } of rfsServices) {
      const port = rolePort(role, env);
      const r = ROLES[role];
      if ((env[r.hostVar] ?? '') !== '0.0.0.0') problems.push(`${name}: ${r.hostVar} is ${env[r.hostVar]}, unreachable from other containers`);
      if (svc.healthcheck?.disable) problems.push(`${name}: healthcheck disabled`);
      const check = svc.healthcheck?.test;
      if (check === undefined) {
        // The image's own HEALTHCHECK probes the gateway.
        if (role !== 'gateway') problems.push(`${name}: no healthcheck, and the image's probes the gateway`);
      } else {
        const urls = localUrls(asText(check));
        if (urls.length === 0) problems.push(`${name}: healthcheck names no local URL: ${asText(check)}`);
        for (const u of urls) {
          if (u.port !== port) problems.push(`${name}: healthcheck port ${u.port}, server listens on ${port}`);
          if (u.path !== r.health) problems.push(`${name}: healthcheck path ${u.path}, expected ${r.health}`);
        }
      }
      for (const p of [...(svc.ports ?? []), ...(svc.expose ?? [])]) {
        if (containerPort(p) !== port) problems.push(`${name}: port ${JSON.stringify(p)} is not the server's ${port}`);
      }
      if (role === 'node') {
        const url = env.RFS_NODE_URL ? new URL(env.RFS_NODE_URL) : undefined;
        if (!url) problems.push(`${name}: no RFS_NODE_URL`);
        else {
          if (![name, svc.hostname].includes(url.hostname)) problems.push(`${name}: RFS_NODE_URL host ${url.hostname} is not the service`);
          if (Number(url.port || 80) !== port) problems.push(`${name}: RFS_NODE_URL port ${url.port}, node listens on ${port}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('depends_on names services, and waits for health only on services that have a healthcheck', () => {
    const problems: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      const deps = Array.isArray(svc.depends_on) ? Object.fromEntries(svc.depends_on.map((d: string) => [d, {}])) : (svc.depends_on ?? {});
      for (const [dep, spec] of Object.entries(deps as Record<string, Obj>)) {
        const target = services[dep];
        if (!target) {
          problems.push(`${name} depends on unknown ${dep}`);
          continue;
        }
        const hasCheck = target.healthcheck?.test !== undefined || (target.build !== undefined && dockerfile.healthcheck !== '');
        if (spec?.condition === 'service_healthy' && !hasCheck) problems.push(`${name} waits for ${dep} to be healthy, which has no healthcheck`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('the S3 endpoint proxies to every gateway at its port', () => {
    const proxies = Object.entries(services).filter(([, s]) => (s.volumes ?? []).some((v: unknown) => String(v).includes(':/etc/nginx/nginx.conf')));
    expect(proxies.length).toBe(1);
    const [proxyName, proxy] = proxies[0];
    const mount = (proxy.volumes as string[]).find((v) => v.includes(':/etc/nginx/nginx.conf'))!;
    const conf = read(mount.split(':')[0]);
    const upstreams = [...conf.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => ({ host: m[1], port: Number(m[2]) }));
    const gateways = rfsServices.filter((s) => s.role === 'gateway');
    expect(upstreams.map((u) => u.host).sort()).toEqual(gateways.map((g) => g.name).sort());
    for (const u of upstreams) expect(u.port).toBe(rolePort('gateway', gateways.find((g) => g.name === u.host)!.env));
    const listen = Number(/^\s*listen\s+(?:[\d.]+:)?(\d+)/m.exec(conf)?.[1]);
    for (const p of proxy.ports ?? []) expect(`${proxyName} ${containerPort(p)}`).toBe(`${proxyName} ${listen}`);
    for (const u of localUrls(asText(proxy.healthcheck?.test))) expect(u).toEqual({ port: listen, path: ROLES.gateway.health });
  });

  test('Prometheus scrapes every gateway and node at its port and metrics path', () => {
    const prom: Obj = parse(read('deploy/prometheus/prometheus.yml'));
    const scraped = new Set<string>();
    const problems: string[] = [];
    for (const job of prom.scrape_configs) {
      for (const sc of job.static_configs ?? []) {
        for (const target of sc.targets) {
          const [host, port] = String(target).split(':');
          const svc = rfsServices.find((s) => s.name === host || s.svc.hostname === host);
          if (!svc) continue;
          scraped.add(svc.name);
          const want = rolePort(svc.role, svc.env);
          if (Number(port) !== want) problems.push(`${job.job_name} ${target}: ${svc.name} listens on ${want}`);
          const metricsPath = job.metrics_path ?? '/metrics';
          if (metricsPath !== ROLES[svc.role].metrics) problems.push(`${job.job_name} ${target}: path ${metricsPath}, ${svc.role} serves ${ROLES[svc.role].metrics}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect([...scraped].sort()).toEqual(rfsServices.map((s) => s.name).sort());
  });

  test('Grafana provisioning: the datasource uid the dashboards use, the folder compose mounts', () => {
    const dsFile: Obj = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml'));
    const uids = new Set(dsFile.datasources.map((d: Obj) => d.uid));
    const providers: Obj = parse(read('deploy/grafana/provisioning/dashboards/rfs.yml'));
    const grafana = Object.values(services).find((s) => String(s.image ?? '').startsWith('grafana/'))!;
    const mounts = (grafana.volumes as string[]).map((v) => v.split(':'));
    for (const p of providers.providers) {
      const mount = mounts.find(([, target]) => target === p.options.path);
      expect(mount).toBeDefined();
      for (const f of readdirSync(path.join(ROOT, mount![0])).filter((x) => x.endsWith('.json'))) {
        const dash = JSON.parse(read(path.join(mount![0], f)));
        const used = new Set<string>();
        const visit = (x: unknown): void => {
          if (Array.isArray(x)) x.forEach(visit);
          else if (x && typeof x === 'object') {
            const o = x as Obj;
            if (o.datasource?.uid) used.add(o.datasource.uid);
            Object.values(o).forEach(visit);
          }
        };
        visit(dash);
        for (const uid of used) expect(uids).toContain(uid);
      }
    }
  });

  test('the Keycloak realm: roles, the STS client, a demo user', () => {
    const keycloak = Object.values(services).find((s) => String(s.image ?? '').includes('keycloak'))!;
    expect(asText(keycloak.command)).toContain('--import-realm');
    const mount = (keycloak.volumes as string[]).map((v) => v.split(':')).find(([, t]) => t === '/opt/keycloak/data/import')!;
    const realm = JSON.parse(read(path.join(mount[0], 'rfs-realm.json')));
    expect(realm.realm).toBe('rfs');
    expect(realm.roles.realm.map((r: Obj) => r.name).sort()).toEqual(['admin', 'readonly', 'readwrite']);
    const client = realm.clients.find((c: Obj) => c.clientId === 'rfs-sts');
    expect(client).toMatchObject({ publicClient: true, directAccessGrantsEnabled: true });
    const user = realm.users.find((u: Obj) => u.realmRoles?.includes('readwrite'));
    expect(user?.credentials?.[0]).toMatchObject({ type: 'password', temporary: false });
  });

  test('`docker-compose config` accepts it', () => {
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: ROOT, encoding: 'utf8' });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (process.env.CI === 'true') throw new Error('docker-compose is not installed (.ci/run installs it)');
      console.warn('SKIPPED: `docker-compose config` check: docker-compose is not installed (apt-get install docker-compose)');
      return;
    }
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

describe('k8s/', () => {
  test('kustomization.yaml lists exactly the manifest files, and maps the rfs image', () => {
    expect([...kustomization.resources].sort()).toEqual([...k8sFiles].sort());
    const mapped = new Set((kustomization.images ?? []).map((i: Obj) => i.name));
    const rfsImages = new Set(k8sContainers.filter((c) => isRfsK8sImage(String(c.container.image))).map((c) => String(c.container.image)));
    expect(rfsImages.size).toBeGreaterThan(0);
    for (const image of rfsImages) expect(mapped).toContain(image);
  });

  test('every object passes the Kubernetes API schema, unknown fields included', () => {
    const objects = k8sDocs.map((d) => d.obj);
    const errors = schemaErrors(objects);
    const problems = k8sDocs.flatMap((d, i) => errors[i].map((e) => `${idOf(d)}: ${e}`));
    expect(problems).toEqual([]);
  });

  test('the schema check rejects unknown fields and wrong types (it is not a no-op)', () => {
    const pod = (container: Obj) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [container] } });
    const [good, unknownField, wrongType] = schemaErrors([
      pod({ name: 'c', image: 'i' }),
      pod({ name: 'c', image: 'i', readinessProbe: { httpGet: { path: '/', port: 80 }, periodSecond: 5 } }),
      pod({ name: 'c', image: 'i', ports: [{ containerPort: 'eighty' }] }),
    ]);
    expect(good).toEqual([]);
    expect(unknownField.join('\n')).toMatch(/periodSecond/);
    expect(wrongType.length).toBeGreaterThan(0);
  });

  test('namespaced objects are in a namespace the manifests create', () => {
    const namespaces = new Set(k8sDocs.filter((d) => d.obj.kind === 'Namespace').map((d) => d.obj.metadata.name));
    const stray = k8sDocs.filter((d) => d.obj.kind !== 'Namespace' && !namespaces.has(nsOf(d.obj))).map((d) => `${idOf(d)} in ${nsOf(d.obj)}`);
    expect(stray).toEqual([]);
  });

  test('workload selectors match their own pod templates; Services and PDBs select pods that exist', () => {
    const problems: string[] = [];
    for (const w of workloads) {
      if (w.obj.kind === 'Job') continue;
      if (!labelSelectorMatches(w.obj.spec.selector, w.template.metadata?.labels ?? {})) problems.push(`${idOf(w)}: selector does not match its template`);
    }
    for (const d of k8sDocs.filter((x) => x.obj.kind === 'Service')) {
      const sel = d.obj.spec?.selector ?? {};
      const pods = podTemplates.filter((p) => p.ns === nsOf(d.obj) && matches(sel, p.labels));
      if (Object.keys(sel).length === 0 || pods.length === 0) {
        problems.push(`${idOf(d)}: selector ${JSON.stringify(sel)} matches no pod template`);
        continue;
      }
      for (const port of d.obj.spec.ports ?? []) {
        for (const p of pods) {
          const target = resolvePort(port.targetPort ?? port.port, p.spec.containers);
          const declared = p.spec.containers.some((c: Obj) => (c.ports ?? []).some((cp: Obj) => cp.containerPort === target));
          if (!declared) problems.push(`${idOf(d)}: port ${port.name ?? port.port} → ${port.targetPort} is no container port of ${p.id}`);
        }
      }
    }
    for (const d of k8sDocs.filter((x) => x.obj.kind === 'PodDisruptionBudget')) {
      if (!podTemplates.some((p) => p.ns === nsOf(d.obj) && labelSelectorMatches(d.obj.spec.selector, p.labels))) problems.push(`${idOf(d)}: selects no pods`);
    }
    expect(problems).toEqual([]);
  });

  test('every StatefulSet names an existing headless Service that selects its pods', () => {
    for (const w of workloads.filter((x) => x.obj.kind === 'StatefulSet')) {
      const svc = find('Service', nsOf(w.obj), w.obj.spec.serviceName);
      expect({ set: idOf(w), serviceName: w.obj.spec.serviceName, headless: svc?.spec?.clusterIP }).toEqual({ set: idOf(w), serviceName: w.obj.spec.serviceName, headless: 'None' });
      expect(matches(svc!.spec.selector, w.template.metadata.labels)).toBe(true);
    }
  });

  test('every Secret and ConfigMap referenced exists, with the keys referenced', () => {
    const problems: string[] = [];
    const need = (kind: 'Secret' | 'ConfigMap', ns: string, name: string, key: string | undefined, optional: boolean, where: string) => {
      if (optional) return;
      const o = find(kind, ns, name);
      if (!o) problems.push(`${where}: ${kind} ${name} does not exist`);
      else if (key !== undefined && !(key in { ...(o.data ?? {}), ...(o.stringData ?? {}) })) problems.push(`${where}: ${kind} ${name} has no key ${key}`);
    };
    for (const c of k8sContainers) {
      for (const f of c.container.envFrom ?? []) {
        if (f.configMapRef) need('ConfigMap', c.ns, f.configMapRef.name, undefined, !!f.configMapRef.optional, c.id);
        if (f.secretRef) need('Secret', c.ns, f.secretRef.name, undefined, !!f.secretRef.optional, c.id);
      }
      for (const e of c.container.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef;
        const s = e.valueFrom?.secretKeyRef;
        if (cm) need('ConfigMap', c.ns, cm.name, cm.key, !!cm.optional, `${c.id} env ${e.name}`);
        if (s) need('Secret', c.ns, s.name, s.key, !!s.optional, `${c.id} env ${e.name}`);
      }
    }
    for (const p of podTemplates) {
      for (const v of p.spec?.volumes ?? []) {
        if (v.configMap) need('ConfigMap', p.ns, v.configMap.name, undefined, !!v.configMap.optional, `${p.id} volume ${v.name}`);
        if (v.secret) need('Secret', p.ns, v.secret.secretName, undefined, !!v.secret.optional, `${p.id} volume ${v.name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('$(VAR) references in env values name variables defined before them', () => {
    const problems: string[] = [];
    for (const c of k8sContainers) {
      const defined = new Set<string>();
      for (const e of c.container.env ?? []) {
        for (const m of String(e.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
          if (!defined.has(m[1])) problems.push(`${c.id} env ${e.name}: $(${m[1]}) is not defined above it`);
        }
        defined.add(e.name);
      }
    }
    expect(problems).toEqual([]);
  });

  test('rfs containers: listen on every interface; probes, ports and scrape annotations match the server', () => {
    const rfs = k8sContainers.filter((c): c is K8sContainer & { role: Role } => c.role !== undefined);
    expect(rfs.filter((c) => c.role === 'gateway').length).toBeGreaterThanOrEqual(1);
    expect(rfs.filter((c) => c.role === 'node').length).toBeGreaterThanOrEqual(1);
    const problems: string[] = [];
    for (const c of rfs) {
      const r = ROLES[c.role];
      const port = rolePort(c.role, c.env);
      if ((c.env[r.hostVar] ?? '') !== '0.0.0.0') problems.push(`${c.id}: ${r.hostVar} is ${c.env[r.hostVar]}, unreachable from other pods`);
      if (!(c.container.ports ?? []).some((p: Obj) => p.containerPort === port)) problems.push(`${c.id}: declares no containerPort ${port}`);
      for (const kind of ['readinessProbe', 'livenessProbe']) {
        const probe = c.container[kind];
        if (!probe?.httpGet) {
          problems.push(`${c.id}: no HTTP ${kind}`);
          continue;
        }
        if (probe.httpGet.path !== r.health) problems.push(`${c.id}: ${kind} path ${probe.httpGet.path}, expected ${r.health}`);
        const p = resolvePort(probe.httpGet.port, [c.container]);
        if (p !== port) problems.push(`${c.id}: ${kind} port ${probe.httpGet.port} (${p}), server listens on ${port}`);
      }
      const ann = c.pod.meta.annotations;
      if (ann?.['prometheus.io/scrape'] === 'true') {
        if (Number(ann['prometheus.io/port']) !== port) problems.push(`${c.id}: prometheus.io/port ${ann['prometheus.io/port']}, server listens on ${port}`);
        if ((ann['prometheus.io/path'] ?? '/metrics') !== r.metrics) problems.push(`${c.id}: prometheus.io/path ${ann['prometheus.io/path']}, expected ${r.metrics}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('storage nodes advertise their pod DNS name under the headless Service, at their port', () => {
    const nodes = k8sContainers.filter((c) => c.role === 'node');
    expect(nodes.length).toBeGreaterThan(0);
    for (const c of nodes) {
      const env: Obj[] = c.container.env ?? [];
      const podName = env.find((e) => e.valueFrom?.fieldRef?.fieldPath === 'metadata.name')?.name;
      expect(podName).toBeDefined();
      const url = env.find((e) => e.name === 'RFS_NODE_URL')?.value as string;
      expect(url).toContain(`$(${podName})`);
      const u = new URL(url.replace(/\$\(([A-Za-z_]\w*)\)/g, (_m, v: string) => v.toLowerCase().replace(/_/g, '-')));
      const labels = u.hostname.split('.');
      expect(labels[0]).toBe(podName!.toLowerCase().replace(/_/g, '-'));
      expect(labels[1]).toBe(c.pod.workload.spec.serviceName);
      expect(Number(u.port)).toBe(rolePort('node', c.env));
    }
  });
});

describe('Grafana dashboard', () => {
  test('charts only metrics the code registers', () => {
    const { names, histograms } = registeredMetrics();
    expect(names).toContain('rfs_s3_requests_total'); // guards the scan itself
    const dir = path.join(ROOT, 'deploy/grafana/dashboards');
    const charted = new Map<string, string[]>();
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      const exprs: string[] = [];
      const visit = (x: unknown): void => {
        if (Array.isArray(x)) x.forEach(visit);
        else if (x && typeof x === 'object') {
          for (const [k, v] of Object.entries(x as Obj)) {
            if (k === 'expr' && typeof v === 'string') exprs.push(v);
            else visit(v);
          }
        }
      };
      visit(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
      expect(exprs.length).toBeGreaterThan(0);
      for (const e of exprs) for (const m of e.matchAll(/\b(rfs_[a-z0-9_]+)/g)) charted.set(m[1], [...(charted.get(m[1]) ?? []), f]);
    }
    const known = (n: string) => names.has(n) || [...histograms].some((h) => ['_bucket', '_sum', '_count'].some((s) => n === h + s));
    const unknown = [...charted.keys()].filter((n) => !known(n)).sort();
    expect(unknown).toEqual([]);
  });
});
