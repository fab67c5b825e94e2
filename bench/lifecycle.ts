import os from 'node:os';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { fmtInt, fmtMiB, fmtRatio, heading, say, table } from './format';
import { expectOk, S3Http } from './http';
import { bulkLoadKeys, embeddedDatabase, withDatabase } from './pg';
import { PhaseMonitor, readTreeMemory, totalPss, type PhaseUsage } from './proc';
import { onInterrupt, startServer } from './server';
import type { Credentials } from './sigv4';

/**
 * A lifecycle pass over a bucket of `objects` keys of which every tenth is older than its
 * rule's Days (one fresh server; rows bulk-loaded into its embedded PostgreSQL, a tenth of
 * them dated 30 days back). The pass is started through the admin API (unthrottled) and
 * followed to its end in its lease row. Reported: its time against a ListObjectsV2 walk of
 * the same bucket (the baseline: reading every key once through the S3 API), the metadata
 * rows it read per expired object (target: each row at most once, so ≤ 10 here), and the
 * server tree's PSS before and at its peak during the pass (target: flat, a page at a time).
 */

export interface LifecycleResult {
  objects: number;
  expired: number;
  scanned: number;
  loadSeconds: number;
  pass: PhaseUsage;
  walk: PhaseUsage;
  idlePssBytes: number;
  remaining: number;
}

const BUCKET = 'bench-lifecycle';

export async function lifecyclePhase(root: Credentials, objects: number, progress: (line: string) => void): Promise<LifecycleResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rfs-bench-lc-'));
  const forget = onInterrupt(() => rm(dir, { recursive: true, force: true }));
  // Unthrottled, and no timer pass of its own during the measure.
  const server = await startServer(dir, root, { RFS_LIFECYCLE_ROWS_PER_SECOND: '0', RFS_LIFECYCLE_INTERVAL_SECONDS: '86400' });
  progress(`rfs listening on ${server.url} (pid ${server.pid})`);
  const client = new S3Http(server.url, root, 1);
  try {
    const database = embeddedDatabase(dir);
    expectOk(await client.request({ method: 'PUT', bucket: BUCKET }), 'CreateBucket');
    const t0 = process.hrtime.bigint();
    await withDatabase(database, (db) => bulkLoadKeys(db, BUCKET, 'k/', objects, 10));
    const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    progress(`bulk-loaded ${fmtInt(objects)} rows (${fmtInt(objects / 10)} of them 30 days old) in ${loadSeconds.toFixed(1)} s`);
    const rules = '<LifecycleConfiguration><Rule><ID>old</ID><Filter/><Status>Enabled</Status><Expiration><Days>7</Days></Expiration></Rule></LifecycleConfiguration>';
    const md5 = createHash('md5').update(rules).digest('base64');
    expectOk(await client.request({ method: 'PUT', bucket: BUCKET, query: { lifecycle: '' }, body: Buffer.from(rules), headers: { 'content-md5': md5 } }), 'PutBucketLifecycleConfiguration');

    const walkMonitor = new PhaseMonitor(server.pid);
    let listed = 0;
    for (let token: string | undefined, first = true; first || token; first = false) {
      const res = await client.request({ method: 'GET', bucket: BUCKET, query: { 'list-type': '2', 'max-keys': '1000', ...(token ? { 'continuation-token': token } : {}) } });
      expectOk(res, 'ListObjectsV2');
      const body = res.body.toString();
      listed += (body.match(/<Key>/g) ?? []).length;
      token = /<NextContinuationToken>([^<]+)</.exec(body)?.[1];
    }
    const walk = walkMonitor.stop();
    if (listed !== objects) throw new Error(`the listing walk saw ${listed} keys, expected ${objects}`);
    progress(`baseline: every key listed in ${walk.wallSeconds.toFixed(1)} s`);

    const idlePssBytes = totalPss(readTreeMemory(server.pid));
    const passMonitor = new PhaseMonitor(server.pid);
    const progressOf = await runPass(client);
    const pass = passMonitor.stop();
    const remaining = await withDatabase(database, async (db) => Number((await db.query('SELECT count(*) AS n FROM objects WHERE bucket = $1', [BUCKET])).rows[0].n));
    const expired = Number(progressOf.expired);
    if (expired !== objects / 10 || remaining !== objects - expired) throw new Error(`the pass expired ${expired} and left ${remaining} of ${objects}`);
    progress(`lifecycle pass: ${fmtInt(expired)} expired in ${pass.wallSeconds.toFixed(1)} s`);
    return { objects, expired, scanned: Number(progressOf.scanned), loadSeconds, pass, walk, idlePssBytes, remaining };
  } finally {
    client.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
    forget();
  }
}

/** Starts a pass through the admin API and polls its lease row until it reports its end. */
async function runPass(client: S3Http): Promise<Record<string, unknown>> {
  const admin = (method: 'GET' | 'POST', route: string) => client.request({ method, bucket: '_rfs', key: `admin/${route}`, ...(method === 'POST' ? { body: Buffer.from('{}'), headers: { 'content-type': 'application/json' } } : {}) });
  const started = await admin('POST', 'jobs/lifecycle');
  expectOk(started, 'POST admin/jobs/lifecycle');
  const since = Date.parse(JSON.parse(started.body.toString()).since);
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const jobs = JSON.parse((await admin('GET', 'jobs')).body.toString()).jobs as { name: string; progress: Record<string, unknown> }[];
    const progress = jobs.find((j) => j.name === 'lifecycle')?.progress;
    if (typeof progress?.finished === 'string' && Date.parse(progress.finished) >= since) return progress;
  }
}

export function reportLifecycle(r: LifecycleResult): void {
  heading(`Lifecycle: one pass over ${fmtInt(r.objects)} objects, ${fmtInt(r.expired)} of them due (Expiration Days, unversioned)`);
  say(table(
    ['', 'time', 'server CPU', 'PostgreSQL CPU', 'peak PSS'],
    [
      ['lifecycle pass', `${r.pass.wallSeconds.toFixed(1)} s`, `${r.pass.serverCpuSeconds.toFixed(1)} s`, `${r.pass.childCpuSeconds.toFixed(1)} s`, fmtMiB(r.pass.peakPssBytes)],
      ['baseline: ListObjectsV2 of every key', `${r.walk.wallSeconds.toFixed(1)} s`, `${r.walk.serverCpuSeconds.toFixed(1)} s`, `${r.walk.childCpuSeconds.toFixed(1)} s`, fmtMiB(r.walk.peakPssBytes)],
    ],
    'lrrrr',
  ));
  const perExpired = r.scanned / r.expired;
  say(`  pass ÷ listing walk: ${fmtRatio(r.pass.wallSeconds / r.walk.wallSeconds)} time, ${fmtRatio(r.pass.serverCpuSeconds / r.walk.serverCpuSeconds)} CPU`);
  say(`  rows read: ${fmtInt(r.scanned)} for ${fmtInt(r.expired)} expired = ${perExpired.toFixed(2)} per expired object (each row once would be ${(r.objects / r.expired).toFixed(2)}: ${r.scanned <= r.objects ? 'PASS' : 'ABOVE'})`);
  say(`  server tree PSS: ${fmtMiB(r.idlePssBytes)} before the pass, ${fmtMiB(r.pass.peakPssBytes)} at its peak during (+${fmtMiB(Math.max(0, r.pass.peakPssBytes - r.idlePssBytes))}); ${fmtInt(r.remaining)} objects left; rows bulk-loaded in ${r.loadSeconds.toFixed(1)} s`);
}
