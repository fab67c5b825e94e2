import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import * as jose from 'jose';
import { RandomBytes } from './data';
import { fmtInt, fmtMs, fmtRatio, fmtUs, heading, say, table } from './format';
import { expectOk, S3Http, type S3Response } from './http';
import { runOps, type OpsResult } from './ops';
import { onInterrupt, startServer, type BenchServer } from './server';
import type { Credentials } from './sigv4';

/**
 * The cost of IAM on the request path, each against a 4 KiB GET by root on the same server
 * (one fresh server, started with RFS_OIDC_ISSUER naming a provider in this process):
 *
 * 1. GET of a 4 KiB object by a user whose only grant is the last of a 20-statement bucket
 *    policy (the others: other users and prefixes, conditions on the source IP, the prefix,
 *    headers and time, Denies, one of them for everyone outside the local networks), against
 *    the same GET by root, which skips evaluation, in rounds taken in turn (ABBA, so a drift
 *    of the machine's other load weighs on both alike). Target: CPU per request ≤ 1.10× root's.
 * 2. STS AssumeRoleWithWebIdentity (unsigned, the token is the proof: RS256 verified against
 *    the provider's JWKS, which the gateway caches), tokens pre-made for a few subjects whose
 *    roles claim names the built-in `readonly` policy. Calls/s, CPU per call ÷ the root GET's,
 *    and how many times the gateway fetched the JWKS during the measured calls (cached: 0).
 */

export interface IamSizes {
  gets: number;
  stsCalls: number;
}

export interface IamResult {
  root: OpsResult;
  user: OpsResult;
  sts: OpsResult;
  statements: number;
  /** user ÷ root CPU per request in each round, in the order taken. */
  roundRatios: number[];
  /** JWKS and discovery documents the provider served during the measured STS calls, and in all. */
  jwksDuring: number;
  discoveryDuring: number;
  jwksTotal: number;
  subjects: number;
  tokens: number;
  concurrency: number;
}

export const GET_RATIO_TARGET = 1.1;
const BUCKET = 'bench-iam';
const KEY = 'iam/object-4k';
const USER = 'bench-reader';
const AUDIENCE = 'rfs-bench';
const ROLE = 'readonly';
const SUBJECTS = 5;
const TOKENS = 300;
/** Rounds each of the root and the user GETs, taken in turn. */
const ROUNDS = 4;

export async function iamPhase(root: Credentials, sizes: IamSizes, concurrency: number, progress: (line: string) => void): Promise<IamResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rfs-bench-iam-'));
  let provider: Provider | undefined;
  let server: BenchServer | undefined;
  const forget = onInterrupt(async () => {
    await provider?.close();
    await rm(dir, { recursive: true, force: true });
  });
  try {
    provider = await startProvider();
    server = await startServer(dir, root, { RFS_OIDC_ISSUER: provider.issuer, RFS_OIDC_AUDIENCE: AUDIENCE });
    progress(`rfs listening on ${server.url} (pid ${server.pid}), OpenID provider ${provider.issuer} in this process`);
    try {
      return await measure(server, provider, root, sizes, concurrency, progress);
    } catch (e) {
      const log = server.logSummary();
      if (log.length) say(`  the server logged (warn and above), by kind:\n${log.join('\n')}`);
      throw e;
    }
  } finally {
    await server?.stop();
    await provider?.close();
    await rm(dir, { recursive: true, force: true });
    forget();
  }
}

async function measure(server: BenchServer, provider: Provider, root: Credentials, sizes: IamSizes, concurrency: number, progress: (line: string) => void): Promise<IamResult> {
  const rootClient = new S3Http(server.url, root, concurrency);
  const clients = [rootClient];
  try {
    // Root: the bucket, the object, the user and its key (admin API, signed by root).
    const body = new RandomBytes(21).next(4096);
    expectOk(await rootClient.request({ method: 'PUT', bucket: BUCKET }), 'CreateBucket');
    expectOk(await rootClient.request({ method: 'PUT', bucket: BUCKET, key: KEY, body }), `PUT ${KEY}`);
    const admin = (route: string, json: unknown) =>
      rootClient.request({ method: 'POST', bucket: '_rfs', key: `admin/${route}`, body: Buffer.from(JSON.stringify(json)), headers: { 'content-type': 'application/json' } });
    expectOk(await admin('users', { name: USER, policies: [] }), `create user ${USER}`);
    const keyRes = await admin(`users/${USER}/keys`, {});
    expectOk(keyRes, `create a key for ${USER}`);
    const { accessKeyId, secretKey } = JSON.parse(keyRes.body.toString()) as Credentials;
    const userClient = new S3Http(server.url, { accessKeyId, secretKey }, concurrency);
    clients.push(userClient);

    const get = (client: S3Http, who: string) => async () => {
      const res = await client.request({ method: 'GET', bucket: BUCKET, key: KEY });
      expectOk(res, `GET ${KEY} as ${who}`);
      if (!res.body.equals(body)) throw new Error(`GET ${KEY} as ${who}: body differs from what was PUT`);
    };
    // Without the policy the user may not read it (it owns nothing); with it, it may.
    const before = await userClient.request({ method: 'GET', bucket: BUCKET, key: KEY });
    if (before.status !== 403) throw new Error(`GET ${KEY} as ${USER} before the bucket policy: HTTP ${before.status}, expected 403`);
    const policy = bucketPolicy(BUCKET, USER);
    expectOk(await rootClient.request({ method: 'PUT', bucket: BUCKET, query: { policy: '' }, body: Buffer.from(policy.text) }), 'PutBucketPolicy');

    const warm = Math.max(200, Math.floor(sizes.gets / 10));
    await runOps('warm-up', [server.pid], clients, warm, concurrency, async () => {
      await get(rootClient, 'root')();
      await get(userClient, USER)();
    });
    // In rounds, root and user in turn (ABBA ABBA…): a drift of the machine's other load
    // during the runs weighs on both alike.
    const rounds: [OpsResult[], OpsResult[]] = [[], []];
    const share = Math.ceil(sizes.gets / ROUNDS);
    for (let i = 0; i < 2 * ROUNDS; i++) {
      const side = (i + (i >> 1)) % 2; // 0 1 1 0 0 1 1 0 …
      const [client, who] = side === 0 ? [rootClient, 'root'] : [userClient, USER];
      rounds[side].push(await runOps(`GET 4 KiB as ${who}`, [server.pid], [client], share, concurrency, get(client, who)));
    }
    const rootGets = combine(rounds[0]);
    const userGets = combine(rounds[1]);
    progress(`GET 4 KiB as root: ${fmtInt(rootGets.opsPerSecond)} ops/s, server CPU ${fmtUs(cpuPer(rootGets))} per request`);
    progress(
      `GET 4 KiB as ${USER} (${policy.statements}-statement bucket policy, its grant last): ${fmtInt(userGets.opsPerSecond)} ops/s, ` +
        `server CPU ${fmtUs(cpuPer(userGets))} per request, ${fmtRatio(cpuPer(userGets) / cpuPer(rootGets))} root's`,
    );

    // STS: tokens made beforehand; the first call of each subject creates its rfs user (untimed).
    const stsClient = new S3Http(server.url, root, concurrency);
    clients.push(stsClient);
    const tokens = await provider.tokens(SUBJECTS, TOKENS);
    const assume = async (i: number): Promise<S3Response> => {
      const form = new URLSearchParams({
        Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: `arn:aws:iam:::role/${ROLE}`, RoleSessionName: 'bench', WebIdentityToken: tokens[i % tokens.length],
      });
      const res = await stsClient.request({ method: 'POST', bucket: '', anonymous: true, body: Buffer.from(form.toString()), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expectOk(res, 'AssumeRoleWithWebIdentity');
      if (!res.body.includes('<AccessKeyId>')) throw new Error(`AssumeRoleWithWebIdentity: no <AccessKeyId> in ${res.body.toString().slice(0, 300)}`);
      return res;
    };
    for (let i = 0; i < SUBJECTS; i++) await assume(i);
    await checkSession(server.url, await assume(0), body);
    await runOps('warm-up', [server.pid], [stsClient], Math.max(200, Math.floor(sizes.stsCalls / 10)), concurrency, async (i) => void (await assume(i)));
    const jwks0 = provider.jwksRequests;
    const discovery0 = provider.discoveryRequests;
    const sts = await runOps('AssumeRoleWithWebIdentity', [server.pid], [stsClient], sizes.stsCalls, concurrency, async (i) => void (await assume(i)));
    const jwksDuring = provider.jwksRequests - jwks0;
    progress(
      `AssumeRoleWithWebIdentity: ${fmtInt(sts.opsPerSecond)} calls/s, server CPU ${fmtUs(cpuPer(sts))} per call, ` +
        `${fmtRatio(cpuPer(sts) / cpuPer(rootGets))} a root GET's; JWKS fetched ${jwksDuring} time(s) during the calls, ${provider.jwksRequests} in all`,
    );
    return {
      root: rootGets, user: userGets, sts, statements: policy.statements, roundRatios: rounds[1].map((u, i) => cpuPer(u) / cpuPer(rounds[0][i])), jwksDuring, discoveryDuring: provider.discoveryRequests - discovery0,
      jwksTotal: provider.jwksRequests, subjects: SUBJECTS, tokens: tokens.length, concurrency,
    };
  } finally {
    for (const c of clients) c.close();
  }
}

const cpuPer = (r: OpsResult) => r.usage.serverCpuSeconds / r.count;

/** Rounds of one run as one: counts, times and CPU added, peaks the highest; p50 the median
 * of the rounds' and p99 the highest (rounds keep no latencies). */
function combine(parts: OpsResult[]): OpsResult {
  const sum = (f: (r: OpsResult) => number) => parts.reduce((a, r) => a + f(r), 0);
  const count = sum((r) => r.count);
  const u = (f: (x: OpsResult['usage']) => number) => sum((r) => f(r.usage));
  const last = parts[parts.length - 1];
  const usage = {
    ...last.usage,
    wallSeconds: u((x) => x.wallSeconds),
    serverCpuSeconds: u((x) => x.serverCpuSeconds),
    rfsCpuSeconds: u((x) => x.rfsCpuSeconds),
    childCpuSeconds: u((x) => x.childCpuSeconds),
    clientCpuSeconds: u((x) => x.clientCpuSeconds),
    machineBusySeconds: u((x) => x.machineBusySeconds),
    machineSeconds: u((x) => x.machineSeconds),
    peakRssBytes: Math.max(...parts.map((r) => r.usage.peakRssBytes)),
    peakPssBytes: Math.max(...parts.map((r) => r.usage.peakPssBytes)),
  };
  const p50s = parts.map((r) => r.p50Ms).sort((a, b) => a - b);
  return {
    op: last.op, count, opsPerSecond: count / usage.wallSeconds, p50Ms: p50s[Math.floor(p50s.length / 2)], p99Ms: Math.max(...parts.map((r) => r.p99Ms)),
    usage, connections: sum((r) => r.connections), retries: sum((r) => r.retries),
  };
}

/** The session STS answered works: its credentials (with the token) read the object. */
async function checkSession(url: string, res: S3Response, body: Buffer): Promise<void> {
  const xml = res.body.toString();
  const field = (name: string) => new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)?.[1] ?? '';
  const client = new S3Http(url, { accessKeyId: field('AccessKeyId'), secretKey: field('SecretAccessKey') }, 1);
  try {
    const get = await client.request({ method: 'GET', bucket: BUCKET, key: KEY, headers: { 'x-amz-security-token': field('SessionToken') } });
    expectOk(get, `GET ${KEY} with an STS session (${ROLE})`);
    if (!get.body.equals(body)) throw new Error(`GET ${KEY} with an STS session: body differs`);
  } finally {
    client.close();
  }
}

/**
 * A bucket policy of 20 statements as a shared bucket might have, every one of which a GET by
 * `user` must look at: the grant that lets it read is the last.
 */
export function bucketPolicy(bucket: string, user: string): { text: string; statements: number } {
  const arn = `arn:aws:s3:::${bucket}`;
  const objects = `${arn}/*`;
  const who = (...names: string[]) => ({ AWS: names.map((n) => `arn:aws:iam:::user/${n}`) });
  const statements = [
    { Sid: 'AliceHome', Effect: 'Allow', Principal: who('alice'), Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: `${arn}/home/alice/*` },
    { Sid: 'AliceList', Effect: 'Allow', Principal: who('alice'), Action: 's3:ListBucket', Resource: arn, Condition: { StringLike: { 's3:prefix': ['home/alice/*', 'shared/*'] } } },
    { Sid: 'BobHome', Effect: 'Allow', Principal: who('bob'), Action: ['s3:GetObject', 's3:PutObject'], Resource: `${arn}/home/bob/*` },
    { Sid: 'BobList', Effect: 'Allow', Principal: who('bob'), Action: 's3:ListBucket', Resource: arn, Condition: { StringLike: { 's3:prefix': 'home/bob/*' } } },
    { Sid: 'DenyMallory', Effect: 'Deny', Principal: who('mallory'), Action: 's3:*', Resource: [arn, objects] },
    { Sid: 'ReportsFromOffice', Effect: 'Allow', Principal: who('analytics'), Action: 's3:GetObject', Resource: `${arn}/reports/*`, Condition: { IpAddress: { 'aws:SourceIp': ['10.20.0.0/16', '192.168.10.0/24'] } } },
    { Sid: 'CiUploads', Effect: 'Allow', Principal: who('ci'), Action: 's3:PutObject', Resource: `${arn}/builds/*`, Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } },
    { Sid: 'CiList', Effect: 'Allow', Principal: who('ci'), Action: 's3:ListBucket', Resource: arn, Condition: { StringLike: { 's3:prefix': 'builds/*' } } },
    { Sid: 'Backup', Effect: 'Allow', Principal: who('backup'), Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: objects, Condition: { IpAddress: { 'aws:SourceIp': '10.99.0.5/32' } } },
    { Sid: 'DenyOutsideNetworks', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: objects, Condition: { NotIpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '10.0.0.0/8', '192.168.0.0/16', '::1/128'] } } },
    { Sid: 'DenyArchiveDelete', Effect: 'Deny', Principal: '*', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: `${arn}/archive/*` },
    { Sid: 'Auditor', Effect: 'Allow', Principal: who('auditor'), Action: ['s3:GetBucketAcl', 's3:GetBucketPolicy', 's3:GetBucketVersioning'], Resource: arn },
    { Sid: 'PartnerDropbox', Effect: 'Allow', Principal: who('partner'), Action: 's3:PutObject', Resource: `${arn}/incoming/partner/*`, Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' }, DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } } },
    { Sid: 'WebappAssets', Effect: 'Allow', Principal: who('webapp'), Action: 's3:GetObject', Resource: `${arn}/assets/*` },
    { Sid: 'WebappList', Effect: 'Allow', Principal: who('webapp'), Action: 's3:ListBucket', Resource: arn, Condition: { NumericLessThanEquals: { 's3:max-keys': '1000' }, StringLike: { 's3:prefix': 'assets/*' } } },
    { Sid: 'DenyEveVersions', Effect: 'Deny', Principal: who('eve'), Action: ['s3:DeleteObjectVersion', 's3:PutObjectAcl'], Resource: objects },
    { Sid: 'LogsWriter', Effect: 'Allow', Principal: who('logs'), Action: 's3:PutObject', Resource: `${arn}/logs/*` },
    { Sid: 'DataTeam', Effect: 'Allow', Principal: who('carol', 'dave', 'erin'), Action: 's3:GetObject', Resource: `${arn}/datasets/*`, Condition: { StringEquals: { 'aws:PrincipalType': 'User' } } },
    { Sid: 'CiMultipart', Effect: 'Allow', Principal: who('ci'), Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: `${arn}/builds/*` },
    { Sid: 'BenchReader', Effect: 'Allow', Principal: who(user), Action: 's3:GetObject', Resource: objects },
  ];
  return { text: JSON.stringify({ Version: '2012-10-17', Statement: statements }, null, 2), statements: statements.length };
}

// ---------- a minimal OpenID provider ----------

interface Provider {
  issuer: string;
  readonly jwksRequests: number;
  readonly discoveryRequests: number;
  /** `count` tokens for `subjects` subjects, in turn, valid for an hour, roles [readonly]. */
  tokens(subjects: number, count: number): Promise<string[]>;
  close(): Promise<void>;
}

/** Discovery and a JWKS of one RS256 key, on node:http in this process, Keycloak's paths. */
async function startProvider(): Promise<Provider> {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256');
  const kid = 'bench-key-1';
  const jwks = JSON.stringify({ keys: [{ ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
  const realm = '/realms/bench';
  const certs = `${realm}/protocol/openid-connect/certs`;
  let issuer = '';
  let jwksRequests = 0;
  let discoveryRequests = 0;
  const server = http.createServer((req, res) => {
    const send = (status: number, text: string) => res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    if (req.url === `${realm}/.well-known/openid-configuration`) {
      discoveryRequests++;
      send(200, JSON.stringify({ issuer, jwks_uri: `${issuer}/protocol/openid-connect/certs`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === certs) {
      jwksRequests++;
      send(200, jwks);
    } else send(404, '{"error":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${realm}`;
  return {
    issuer,
    get jwksRequests() {
      return jwksRequests;
    },
    get discoveryRequests() {
      return discoveryRequests;
    },
    tokens: (subjects, count) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          new jose.SignJWT({ azp: AUDIENCE, preferred_username: `bench-${i % subjects}`, realm_access: { roles: [ROLE, 'offline_access'] } })
            .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
            .setIssuer(issuer)
            .setSubject(`00000000-0000-4000-8000-${String(i % subjects).padStart(12, '0')}`)
            .setAudience('account')
            .setJti(`bench-${i}`)
            .setIssuedAt()
            .setExpirationTime('1h')
            .sign(privateKey),
        ),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------- report ----------

export function reportIam(r: IamResult, cores: number): void {
  heading(`IAM on the request path (4 KiB object, ${fmtInt(r.root.count)} GETs each and ${fmtInt(r.sts.count)} STS calls at concurrency ${r.concurrency}; one fresh server)`);
  const base = cpuPer(r.root);
  const row = (label: string, x: OpsResult, target: string): string[] => [
    label,
    fmtInt(x.opsPerSecond),
    fmtMs(x.p50Ms),
    fmtMs(x.p99Ms),
    fmtUs(cpuPer(x)),
    fmtUs(x.usage.rfsCpuSeconds / x.count),
    fmtUs(x.usage.childCpuSeconds / x.count),
    x === r.root ? 'baseline' : `${fmtRatio(cpuPer(x) / base)} (${cpuPer(x) >= base ? '+' : '−'}${fmtUs(Math.abs(cpuPer(x) - base))})`,
    target,
  ];
  const ratio = cpuPer(r.user) / base;
  say(
    table(
      ['request', 'ops/s', 'p50', 'p99', 'server CPU/req', 'rfs', 'PostgreSQL', 'CPU/req vs root GET', 'target'],
      [
        row('GET 4 KiB as root (no evaluation)', r.root, ''),
        row(`GET 4 KiB as a user (${r.statements}-statement bucket policy)`, r.user, `≤ ${fmtRatio(GET_RATIO_TARGET)}: ${ratio <= GET_RATIO_TARGET ? 'PASS' : 'ABOVE'}`),
        row('AssumeRoleWithWebIdentity (JWKS cached)', r.sts, 'report only'),
      ],
      'lrrrrrrrl',
    ),
  );
  say(
    `  Server CPU = the whole tree (rfs + its PostgreSQL; ${cores} cores) over the run ÷ requests. Root's GET skips evaluation; the user owns nothing, ` +
      `so each of its GETs looks up its key, the key's opened secret and its user (cached) and evaluates the bucket policy, whose one grant to it is the last statement. ` +
      `Taken in ${r.roundRatios.length} rounds each, in turn (root, user, user, root, …); user ÷ root in each round: ${r.roundRatios.map(fmtRatio).join(', ')}.`,
  );
  say(
    `  STS: ${fmtInt(r.tokens)} RS256 tokens pre-made for ${r.subjects} subjects (roles claim: readonly), unsigned POST / answered 200 with <AccessKeyId>; ` +
      `one session's credentials read the object. The provider served the JWKS ${r.jwksDuring} time(s) during the measured calls ` +
      `(discovery ${r.discoveryDuring}), ${r.jwksTotal} in the whole phase${r.jwksDuring === 0 ? ': cached' : ''}.`,
  );
  const retried = r.root.retries + r.user.retries + r.sts.retries;
  if (retried) say(`  The bench re-sent ${fmtInt(retried)} request(s) answered 500/503.`);
}
