/**
 * `npm run bench` — how close rfs comes to the speed of its own per-byte work, what a small
 * request costs stage by stage, and how much memory the server holds.
 *
 * The server is measured as its WHOLE process tree: the rfs node process (`node
 * dist/gateway/main.js`, a child of the bench, on a fresh temp data dir) and every process it
 * starts, the embedded PostgreSQL's postmaster and backends (bench/proc.ts: descendants found
 * through the ppid in /proc/<pid>/stat; CPU = utime+stime of each live process plus the
 * cutime+cstime of the children it reaped, read at each phase's start and end; memory = PSS
 * from /proc/<pid>/smaps_rollup, summed). The phases:
 *
 * 1. One stream each way: PUT of 1 GiB of pseudo-random data (bench/data.ts), generated as the
 *    socket takes it, signed UNSIGNED-PAYLOAD; then GET of it, streamed and discarded (size and
 *    CRC32 checked; a second, untimed GET checks MD5); CopyObject of it.
 * 2. Small requests, stage by stage (bench/requests.ts): node:http alone, /_rfs/health, GET and
 *    HEAD of a missing key, then 4 KiB PUT, HEAD and GET at concurrency 16; CPU per request
 *    of rfs and of its PostgreSQL, and the difference from rung to rung: HTTP, SigV4, metadata
 *    read, commit. SigV4 signing and verification, and SigV2 verification, are also timed alone in this
 *    process.
 * 3. Multipart (bench/multipart.ts): DeleteObjects of 1,000 keys against 1,000 DeleteObject,
 *    CompleteMultipartUpload of 10,000 parts against one of 1 part.
 * 4. Memory and listing (bench/memory.ts): ListObjectsV2 pages of 1,000 keys in a bucket of
 *    10 k keys against one of 1 M (rows bulk-loaded into the embedded PostgreSQL), a walk
 *    through all 1 M keys, a 2 GiB PUT; PSS of the tree at each point and its peak during,
 *    after 100 k more small PUTs.
 * 5. A 256 MiB single-request PUT with a signed payload against UNSIGNED-PAYLOAD, per thread,
 *    and the gateway's hash pool alone (bench/signed.ts).
 * 6. Gateways on the machine's PostgreSQL (bench/gateways.ts): one gateway against two on the
 *    same database and chunks dir; HEAD of a missing key with the key filter in Redis against
 *    in process.
 * 7. aws cli multipart upload of 2 GiB on a fresh server; the per-byte stages alone in this
 *    process (MD5, BLAKE3, SHA-256, gear hash, LZ4, the chunk store; bench/stages.ts); PUT and
 *    GET ÷ the slowest stage a PUT needs (targets ≥ 50 % and ≥ 70 %).
 * 8. IAM on a fresh server (bench/iam.ts): a 4 KiB GET by a user granted by the last of a
 *    20-statement bucket policy against the same GET by root (target ≤ 1.10× its CPU per
 *    request); STS AssumeRoleWithWebIdentity against an OpenID provider in this process (JWKS
 *    cached): calls/s and CPU per call against the root GET.
 * 9. Lifecycle on a fresh server (bench/lifecycle.ts): one pass over 1 M objects of which 10 %
 *    are due, against a ListObjectsV2 walk of the same bucket; rows read per expired object,
 *    and the tree's PSS before and at its peak during the pass.
 *
 * 10. `--cluster` (not in the default run): the storage-node tier, R=3 against R=1, repair after a
 *    node is lost, and a node's memory (bench/cluster.ts).
 *
 * Every ratio is against a baseline measured in the same run (the machine is shared and
 * noisy). Targets are reported, never asserted: the exit code is 0 unless something failed.
 * About 8–10 minutes on 2 cores (the 100 k PUTs take 3–5 of them). `--quick`: smaller
 * everything, ~2 minutes (a smoke run). `--only=a,b`: just those phases (stream, requests,
 * multipart, memory, signed, gateways, cli, stages, iam, lifecycle). Every process the bench starts is
 * stopped, on failure and on Ctrl-C too.
 */
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { crc32 } from '@node-rs/crc32';
import { loadConfig } from '../gateway/config';
import { GiB, MiB, randomPieces } from './data';
import { elapsed, fmtInt, fmtRate, fmtSize, heading, mb, progress, say } from './format';
import { DEFAULT_ADMIN_URL, gatewayOptions, reportGateways, sharedDatabase, type GatewaysResult } from './gateways';
import { expectOk, S3Http } from './http';
import { bigPut, listing, manyPuts, MemoryLog, reportListing, reportMemory, type ListingResult } from './memory';
import { awsCliUpload, awsVersion, completeMany, copyLarge, deleteMany } from './multipart';
import { embeddedDatabase } from './pg';
import { PhaseMonitor } from './proc';
import { reportMultipart, reportStages, reportStreams, reportTargets, reportTime, type MultipartResults, type StreamResult, type StreamResults } from './report';
import { measureRequests, reportRequests, smallKey, type RequestCosts } from './requests';
import { interruptAll, killAll, startServer, type BenchServer } from './server';
import { reportSigned, signedPayload, type SignedResult } from './signed';
import { measureStages, type StageResults } from './stages';
import { clusterPhase, reportCluster, type ClusterResult, type ClusterSizes } from './cluster';
import { iamPhase, reportIam, type IamResult, type IamSizes } from './iam';
import { lifecyclePhase, reportLifecycle, type LifecycleResult } from './lifecycle';

const ROOT = { accessKeyId: 'RFSBENCHROOTKEY00001', secretKey: 'rfs-bench-secret-key-000000000000000000' };
const BUCKET = 'bench';
const LARGE_SEED = 1;
const WARMUP_SEED = 2;
const WARMUP_BYTES = 32 * MiB;
const CONCURRENCY = 16;
/** The server's defaults (RFS_WRITE_CONCURRENCY, RFS_READ_AHEAD, RFS_HASH_THREADS). */
const DEFAULTS = loadConfig({});
const PHASES = ['stream', 'requests', 'multipart', 'memory', 'signed', 'gateways', 'cli', 'stages', 'iam', 'lifecycle', 'cluster'] as const;
/** What a plain `npm run bench` runs; the cluster phase runs with `--cluster` (or `--only=cluster`). */
const DEFAULT_PHASES = PHASES.filter((p) => p !== 'cluster');
type Phase = (typeof PHASES)[number];

interface Sizes {
  objectBytes: number;
  /** Parts of the CompleteMultipartUpload phase. */
  completeParts: number;
  cliBytes: number;
  smallOps: number;
  stageBytes: number;
  logBytes: number;
  reps: number;
  listSmallKeys: number;
  listLargeKeys: number;
  listPages: number;
  bigPutBytes: number;
  signedBytes: number;
  signedRounds: number;
  gatewayOps: number;
  /** Small PUTs before the memory readings of the listing phase. */
  manyPuts: number;
  cluster: ClusterSizes;
  /** 4 KiB GETs as root and as a user, STS calls. */
  iam: IamSizes;
  /** Objects in the bucket a lifecycle pass runs over (a tenth of them due). */
  lifecycleObjects: number;
}

const FULL: Sizes = {
  objectBytes: GiB, completeParts: 10_000, cliBytes: 2 * GiB, smallOps: 4000, stageBytes: 256 * MiB, logBytes: 64 * MiB, reps: 3,
  listSmallKeys: 10_000, listLargeKeys: 1_000_000, listPages: 40, bigPutBytes: 2 * GiB, signedBytes: 256 * MiB, signedRounds: 3, gatewayOps: 2000, manyPuts: 100_000,
  cluster: { objectBytes: 256 * MiB, smallOps: 2000, repairBytes: 10 * GiB, nodeUploadBytes: 2 * GiB },
  iam: { gets: 20_000, stsCalls: 5000 },
  lifecycleObjects: 1_000_000,
};
const QUICK: Sizes = {
  objectBytes: 128 * MiB, completeParts: 1000, cliBytes: 256 * MiB, smallOps: 1000, stageBytes: 128 * MiB, logBytes: 32 * MiB, reps: 2,
  listSmallKeys: 10_000, listLargeKeys: 100_000, listPages: 20, bigPutBytes: 256 * MiB, signedBytes: 64 * MiB, signedRounds: 2, gatewayOps: 500, manyPuts: 1000,
  cluster: { objectBytes: 64 * MiB, smallOps: 500, repairBytes: 512 * MiB, nodeUploadBytes: 256 * MiB },
  iam: { gets: 3000, stsCalls: 1000 },
  lifecycleObjects: 100_000,
};

// ---------- the stream phase ----------

interface Digests {
  md5: string;
  crc32: number;
}

/** MD5 and CRC32 of the object the PUT will send: the same deterministic stream, generated
 * once beforehand, so that during the timed PUT the bench only generates and sends (its own
 * MD5 at ~500 MB/s would otherwise take a core the server may need). */
function digestOf(size: number, seed: number): Digests {
  const md5 = createHash('md5');
  let crc = 0;
  for (const piece of randomPieces(size, MiB, seed)) {
    md5.update(piece);
    crc = crc32(piece, crc);
  }
  return { md5: md5.digest('hex'), crc32: crc };
}

async function putLarge(client: S3Http, server: BenchServer, key: string, size: number, expected: Digests): Promise<StreamResult> {
  const monitor = new PhaseMonitor(server.pid);
  const res = await client.request({ method: 'PUT', bucket: BUCKET, key, body: randomPieces(size, MiB, LARGE_SEED), contentLength: size });
  const usage = monitor.stop();
  expectOk(res, `PUT ${key}`);
  if (res.headers.etag !== `"${expected.md5}"`) throw new Error(`PUT ${key}: ETag ${res.headers.etag}, expected MD5 ${expected.md5}`);
  return { bytes: size, mbps: mb(size) / usage.wallSeconds, usage };
}

/** The timed GET: streamed and discarded, counting bytes and a CRC32 (~7 GB/s, so the client
 * stays out of the way of the measurement); then an untimed GET whose MD5 must match. */
async function getLarge(client: S3Http, server: BenchServer, key: string, size: number, expected: Digests): Promise<StreamResult> {
  let crc = 0;
  const monitor = new PhaseMonitor(server.pid);
  const res = await client.request({ method: 'GET', bucket: BUCKET, key, sink: (piece) => (crc = crc32(piece, crc)) });
  const usage = monitor.stop();
  expectOk(res, `GET ${key}`);
  if (res.bytes !== size) throw new Error(`GET ${key}: ${res.bytes} bytes, expected ${size}`);
  if (crc !== expected.crc32) throw new Error(`GET ${key}: CRC32 ${crc}, expected ${expected.crc32}`);
  const md5 = createHash('md5');
  const again = await client.request({ method: 'GET', bucket: BUCKET, key, sink: (piece) => md5.update(piece) });
  expectOk(again, `GET ${key}`);
  const hex = md5.digest('hex');
  if (again.bytes !== size || hex !== expected.md5) throw new Error(`GET ${key}: ${again.bytes} bytes with MD5 ${hex}, expected ${size} with ${expected.md5}`);
  return { bytes: size, mbps: mb(size) / usage.wallSeconds, usage };
}

async function streams(big: S3Http, server: BenchServer, dataDir: string, sizes: Sizes): Promise<StreamResults> {
  const key = `large/${fmtSize(sizes.objectBytes).replace(' ', '')}`;
  const expected = digestOf(sizes.objectBytes, LARGE_SEED);
  progress(`generated ${fmtSize(sizes.objectBytes)} once for its digests: MD5 ${expected.md5}`);
  const put = await putLarge(big, server, key, sizes.objectBytes, expected);
  progress(`PUT ${fmtSize(sizes.objectBytes)}: ${fmtRate(put.mbps)} (ETag = MD5 of the data)`);
  const get = await getLarge(big, server, key, sizes.objectBytes, expected);
  progress(`GET ${fmtSize(sizes.objectBytes)}: ${fmtRate(get.mbps)} (size and CRC32 match; an untimed GET matched the MD5)`);
  const copy = await copyLarge(big, server, dataDir, BUCKET, key, sizes.objectBytes);
  progress(`CopyObject ${fmtSize(sizes.objectBytes)}: ${copy.seconds.toFixed(3)} s, data dir grew ${fmtInt(copy.diskGrowthBytes)} bytes`);
  return { command: server.command, put, get, copy };
}

/** The small-request rungs on the main server, and the chunk rung on a second one that keeps
 * no body inline (RFS_INLINE_MAX_BYTES=0), stopped right after. */
async function requestsPhase(server: BenchServer, sizes: Sizes): Promise<RequestCosts> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rfs-bench-chunk-'));
  let chunkServer: BenchServer | undefined;
  try {
    chunkServer = await startServer(dir, ROOT, { RFS_INLINE_MAX_BYTES: '0' });
    const c = new S3Http(chunkServer.url, ROOT, 1);
    expectOk(await c.request({ method: 'PUT', bucket: BUCKET }), 'CreateBucket (chunk server)');
    c.close();
    return await measureRequests({ server, chunkServer, root: ROOT, bucket: BUCKET, count: sizes.smallOps, concurrency: CONCURRENCY, database: embeddedDatabase(server.dataDir), progress });
  } finally {
    await chunkServer?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------- main ----------

function commandLine(): string {
  const args = process.argv.slice(2);
  const node = ['node', ...process.execArgv, path.relative(process.cwd(), process.argv[1]) || process.argv[1], ...args].join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}   (${node})`;
  return node;
}

function filesystemOf(dir: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown filesystem';
  }
}

function parseArgs(args: string[]): { sizes: Sizes; phases: Set<Phase> } {
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const unknown = args.filter((a) => a !== '--quick' && a !== '--cluster' && !a.startsWith('--only='));
  const badPhase = only?.filter((p) => !(PHASES as readonly string[]).includes(p)) ?? [];
  if (unknown.length || badPhase.length) {
    process.stderr.write(`unknown argument(s): ${[...unknown, ...badPhase].join(' ')}\nusage: node dist/bench/run.js [--quick] [--cluster] [--only=${PHASES.join(',')}]\n`);
    process.exit(2);
  }
  const phases: Phase[] = only ? (only as Phase[]) : args.includes('--cluster') ? ['cluster'] : [...DEFAULT_PHASES];
  return { sizes: args.includes('--quick') ? QUICK : FULL, phases: new Set(phases) };
}

interface Results {
  streams?: StreamResults;
  requests?: RequestCosts;
  multipart?: MultipartResults;
  listing?: ListingResult;
  signed?: SignedResult;
  gateways?: GatewaysResult | string;
  cluster?: ClusterResult;
  iam?: IamResult;
  lifecycle?: LifecycleResult;
  stages?: StageResults;
  memory?: MemoryLog;
  serverLog: string[];
}

async function main(): Promise<void> {
  const { sizes, phases } = parseArgs(process.argv.slice(2));
  const quick = sizes.objectBytes === QUICK.objectBytes;
  const cpus = os.cpus();
  const cores = cpus.length;
  say(`rfs benchmark${quick ? ' (--quick)' : ''}`);
  say(`command: ${commandLine()}`);
  say(`machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cores} cores, ${(os.totalmem() / GiB).toFixed(1)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`);
  say(`phases: ${[...phases].join(', ')}`);

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rfs-bench-'));
  let server: BenchServer | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      if (server) {
        const code = await server.stop();
        if (code !== 0) say(`  (server exited with ${code})`);
      }
      await rm(dataDir, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping every server the bench started, dropping its database, removing ${dataDir}\n`);
    interrupted = interruptAll()
      .then(cleanup)
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Last resort if the bench dies some other way: no orphaned server or PostgreSQL, no GiBs left in /tmp.
  let scratch: string | undefined;
  process.once('exit', () => {
    killAll(); // every server's whole tree; a no-op for those already stopped
    rmSync(dataDir, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const r: Results = { serverLog: [] };
  const onServer = ['stream', 'requests', 'multipart', 'memory', 'signed'].some((p) => phases.has(p as Phase));
  if (onServer) {
    say(`\nserver phases (data dir ${dataDir}, ${filesystemOf(dataDir)})`);
    try {
      server = await startServer(dataDir, ROOT, { RFS_MULTIPART_MIN_PART_BYTES: '1' });
      progress(`rfs listening on ${server.url} (pid ${server.pid})`);
      const memory = (r.memory = new MemoryLog(server.pid));
      memory.now('idle, just started');
      const big = new S3Http(server.url, ROOT, 1);
      const many = new S3Http(server.url, ROOT, CONCURRENCY);
      try {
        expectOk(await big.request({ method: 'PUT', bucket: BUCKET }), 'CreateBucket');
        // Warm up the server (JIT, first chunk directories, the connection) with other data.
        const warm = randomPieces(WARMUP_BYTES, MiB, WARMUP_SEED);
        expectOk(await big.request({ method: 'PUT', bucket: BUCKET, key: 'warmup', body: warm, contentLength: WARMUP_BYTES }), 'PUT warmup');
        expectOk(await big.request({ method: 'GET', bucket: BUCKET, key: 'warmup', sink: () => undefined }), 'GET warmup');
        progress(`warm-up: PUT and GET of ${fmtSize(WARMUP_BYTES)} (other data, untimed)`);
        if (phases.has('stream')) {
          r.streams = await streams(big, server, dataDir, sizes);
          memory.phase(`PUT ${fmtSize(sizes.objectBytes)} (peak during)`, r.streams.put.usage);
          memory.phase(`GET ${fmtSize(sizes.objectBytes)} (peak during)`, r.streams.get.usage);
        }
        if (phases.has('requests')) {
          r.requests = await requestsPhase(server, sizes);
          memory.now(`after ${fmtInt(sizes.smallOps)} each of the small requests`);
        }
        if (phases.has('multipart')) {
          const keys = Math.min(2000, sizes.smallOps);
          const bulkDelete = r.requests ? await deleteMany(many, BUCKET, Array.from({ length: keys }, (_, i) => smallKey(i)), CONCURRENCY) : undefined;
          if (bulkDelete) progress(`DeleteObjects of ${fmtInt(bulkDelete.keys)} keys: ${bulkDelete.bulkSeconds.toFixed(3)} s; as many DeleteObject: ${bulkDelete.singleSeconds.toFixed(3)} s`);
          const complete = await completeMany(many, BUCKET, sizes.completeParts, CONCURRENCY);
          progress(`CompleteMultipartUpload of ${fmtInt(complete.parts)} parts: ${complete.completeSeconds.toFixed(3)} s`);
          r.multipart = { complete, bulkDelete, cli: 'not run', concurrency: CONCURRENCY };
          memory.now(`after ${fmtInt(sizes.completeParts)} parts uploaded and completed`);
        }
        if (phases.has('memory')) {
          if (sizes.manyPuts) {
            const puts = await manyPuts(server, many, BUCKET, sizes.manyPuts, CONCURRENCY);
            memory.phase(`${fmtInt(sizes.manyPuts)} more 4 KiB PUTs (peak during)`, puts.usage);
            progress(`${fmtInt(sizes.manyPuts)} more 4 KiB PUTs: ${fmtInt(puts.opsPerSecond)} ops/s`);
          }
          r.listing = await listing(server, big, embeddedDatabase(dataDir), { smallKeys: sizes.listSmallKeys, largeKeys: sizes.listLargeKeys, pages: sizes.listPages }, progress);
          progress(`list page: ${r.listing.small.medianMs.toFixed(1)} ms at ${fmtInt(sizes.listSmallKeys)} keys, ${r.listing.large.medianMs.toFixed(1)} ms at ${fmtInt(sizes.listLargeKeys)}`);
          memory.phase(`paging through ${fmtInt(sizes.listLargeKeys)} keys (peak during)`, r.listing.walk.usage);
          const b = await bigPut(server, big, BUCKET, sizes.bigPutBytes);
          progress(`PUT ${fmtSize(b.bytes)}: ${fmtRate(b.mbps)}`);
          memory.phase(`PUT ${fmtSize(b.bytes)} (peak during)`, b.usage);
        }
        if (phases.has('signed')) {
          r.signed = await signedPayload(server, big, BUCKET, sizes.signedBytes, sizes.signedRounds, DEFAULTS.hashThreads);
          progress(`signed-payload PUTs of ${fmtSize(sizes.signedBytes)}: ${r.signed.runs.map((x) => `${x.mode} ${x.mbps.toFixed(0)}`).join(', ')} MB/s`);
        }
        await new Promise((resolve) => setTimeout(resolve, 3000));
        memory.now('idle again at the end (3 s after the last request)');
      } catch (e) {
        const log = server.logSummary();
        if (!interrupted && log.length) say(`  the server logged (warn and above), by kind:\n${log.join('\n')}`);
        throw e;
      } finally {
        big.close();
        many.close();
        r.serverLog = server.logSummary();
      }
    } finally {
      await cleanup();
    }
    progress('server and its PostgreSQL stopped, data dir removed');
  }

  if (phases.has('gateways')) {
    r.gateways = await sharedDatabase(gatewayOptions(ROOT, sizes.gatewayOps, CONCURRENCY, progress));
    if (typeof r.gateways === 'string') progress(r.gateways);
  }
  if (phases.has('iam')) {
    say('\nIAM: policy evaluation and STS (a fresh server, an OpenID provider in this process)');
    r.iam = await iamPhase(ROOT, sizes.iam, CONCURRENCY, progress);
  }
  if (phases.has('lifecycle')) {
    say(`\nlifecycle: one pass over ${fmtInt(sizes.lifecycleObjects)} objects (a fresh server)`);
    r.lifecycle = await lifecyclePhase(ROOT, sizes.lifecycleObjects, progress);
  }
  if (phases.has('cluster')) {
    say('\nstorage-node tier (storage nodes and a gateway as child processes, on the machine PostgreSQL)');
    r.cluster = await clusterPhase(ROOT, process.env.RFS_BENCH_PG_URL || DEFAULT_ADMIN_URL, sizes.cluster, progress);
  }
  if (phases.has('cli')) {
    const version = awsVersion();
    const cli = version ? await awsCliUpload(ROOT, sizes.cliBytes, os.tmpdir(), version) : 'aws cli not installed: phase skipped';
    if (typeof cli !== 'string') progress(`aws s3 cp ${fmtSize(sizes.cliBytes)} multipart on a fresh server: ${fmtRate(cli.mbps)}`);
    r.multipart = r.multipart ? { ...r.multipart, cli } : undefined;
    if (!r.multipart) say(`  aws s3 cp: ${typeof cli === 'string' ? cli : fmtRate(cli.mbps)}`);
  }
  if (phases.has('stages')) {
    say('\nper-byte stages');
    const scratchDir = await mkdtemp(path.join(os.tmpdir(), 'rfs-bench-'));
    scratch = scratchDir;
    try {
      r.stages = await measureStages({
        randomBytes: sizes.stageBytes,
        logBytes: sizes.logBytes,
        pieceSize: MiB,
        reps: sizes.reps,
        scratchDir,
        writeConcurrency: DEFAULTS.writeConcurrency,
        readAhead: DEFAULTS.readAhead,
        progress,
      });
    } finally {
      await rm(scratchDir, { recursive: true, force: true });
      scratch = undefined;
    }
  }

  if (r.streams) reportStreams(r.streams, cores);
  if (r.requests) reportRequests(r.requests, cores);
  if (r.iam) reportIam(r.iam, cores);
  if (r.lifecycle) reportLifecycle(r.lifecycle);
  if (r.listing) reportListing(r.listing);
  if (r.memory) reportMemory(r.memory);
  if (r.signed) reportSigned(r.signed);
  if (r.gateways) reportGateways(r.gateways, CONCURRENCY);
  if (r.cluster) reportCluster(r.cluster, cores);
  if (r.multipart) reportMultipart(r.multipart, r.streams);
  if (r.stages) reportStages(r.stages, sizes);
  if (r.streams && r.stages) {
    reportTargets(r.streams, r.stages);
    reportTime(r.streams, r.stages, cores);
  }
  if (r.serverLog.length) {
    heading('What the server logged (warn and above), by kind');
    say(r.serverLog.join('\n'));
  }
  say(`\nbench finished in ${elapsed().toFixed(1)} s`);
}

/** Set on SIGINT/SIGTERM: the phase in progress then fails, and must not exit before this has undone everything. */
let interrupted: Promise<unknown> | undefined;

main().catch((e) => {
  if (interrupted) return; // it exits with 130 when done
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
