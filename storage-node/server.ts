import { createHash, timingSafeEqual } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import { ADDRESS_PATTERN, chunkAddress } from './address';
import { CHUNK_HEADER_BYTES } from './chunk-file-format';
import { ChunkCorruptError, ChunkNotFoundError } from './chunk-store';
import type { ChunkSizes, ChunkStat, DiskChunkStore } from './disk-store';
import { mapLimited } from './map-limited';
import { metrics, registry, reportStatusFrom, type NodeOp } from './metrics';
import {
  CLAIMED_AT_HEADER,
  HOLDING_MAX,
  INVENTORY_PAGE_MAX,
  NODE_TIME_HEADER,
  STORED_BYTES_HEADER,
  type InventoryPage,
  type NodeErrorCode,
  type NodeStatus,
} from './protocol';

export interface NodeServerOptions {
  store: DiskChunkStore;
  /** The cluster secret every request but /health and /metrics must carry as a Bearer token. */
  secret: string;
  id: string;
  zone: string;
  /** What the node offers; default: the size of the filesystem holding the store. */
  capacityBytes?: number;
  /** Largest chunk a PUT may carry (413 beyond); default 64 MiB. */
  maxChunkBytes?: number;
  log?: Logger;
  /** Called when a read finds a chunk corrupt (the file is already set aside): repair it. */
  onCorrupt?: (address: string) => void;
}

export interface NodeServer {
  app: FastifyInstance;
  status(): Promise<NodeStatus>;
  /** Stops the count and the HTTP server (in-flight requests finish); the store stays open. */
  close(): Promise<void>;
}

const DEFAULT_MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** Free space a PUT must leave on the filesystem: 64 MiB, or 1% of a small filesystem, so the
 * node stops taking chunks before the disk is so full that fsyncs and metadata writes fail. */
const RESERVE_BYTES = 64 * 1024 * 1024;
const RESERVE_FRACTION = 0.01;
/** Longer than clients keep idle sockets (undici: 4 s), so the client always closes first and
 * never sends a request on a socket the server is closing. */
const KEEP_ALIVE_MS = 65_000;
/** Concurrent disk lookups of one /holding request. */
const HOLDING_CONCURRENCY = 32;
const COUNT_RETRY_MS = 5_000;
const OPEN_PATHS = new Set(['/health', '/metrics']);
const REDACT = ['req.headers.authorization', 'headers.authorization'];

/** An answer other than success, sent as `{ error, message }`. */
class NodeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: NodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (message: string) => new NodeHttpError(400, 'BadRequest', message);

/** Per-request access lines at debug, not info: a node serves thousands of chunk requests a
 * second, and its metrics already count them. */
class QuietLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** The HTTP face of one DiskChunkStore, speaking protocol.ts. Call `app.listen` to serve. */
export async function buildNodeServer(options: NodeServerOptions): Promise<NodeServer> {
  const { store, id, zone } = options;
  const maxChunkBytes = options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
  // The redaction is belt and braces: nothing here logs headers, but a serializer might.
  const log: FastifyBaseLogger = (options.log ?? pino({ level: 'info' })).child({ node: id }, { redact: REDACT });
  const filesystem = await diskSpace(store.dir);
  const capacityBytes = options.capacityBytes ?? filesystem.size;
  const reserveBytes = Math.min(RESERVE_BYTES, Math.floor(filesystem.size * RESERVE_FRACTION));
  const counts = new ChunkCounts(store, log);
  /** Bytes of PUTs under way, so concurrent PUTs cannot together overrun the space checks. */
  let writing = 0;
  let closing = false;
  const expectedAuth = digest(`Bearer ${options.secret}`);

  const status = async (): Promise<NodeStatus> => {
    const { free } = await diskSpace(store.dir);
    const total = counts.total();
    return {
      id,
      zone,
      capacityBytes,
      freeBytes: Math.max(0, Math.min(capacityBytes - total.storedBytes, free)),
      ...total,
      counting: counts.counting,
    };
  };

  const app = Fastify({
    loggerInstance: log,
    logController: new QuietLogController(),
    bodyLimit: maxChunkBytes,
    keepAliveTimeout: KEEP_ALIVE_MS,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 256 },
    // The router's own refusals (undecodable URL, over-long segment) in the protocol's words.
    frameworkErrors: (error, request, reply) => sendError(badRequest(error.message), request, reply),
  });

  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  // Every body as raw bytes: chunks are bytes, and /holding parses its small JSON itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onRequest', async (request) => {
    if (OPEN_PATHS.has(request.url.split('?', 1)[0])) return;
    const given = request.headers.authorization;
    if (given === undefined || !timingSafeEqual(digest(given), expectedAuth)) {
      throw new NodeHttpError(401, 'Unauthorized', 'missing or wrong cluster secret');
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header(NODE_TIME_HEADER, String(Date.now()));
    // While closing, a connection that was busy must not then sit idle for the keep-alive.
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const op = opOf(request);
    if (op === undefined) return;
    metrics.requests.inc({ op, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ op }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'NotFound', message: `no route ${request.method} ${request.url.split('?', 1)[0]}` });
  });

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  app.put('/chunks/:address', { config: { op: 'put' } }, async (request, reply) => {
    const address = addressParam(request);
    const body = request.body ?? Buffer.alloc(0);
    if (!Buffer.isBuffer(body)) throw badRequest('expected the chunk bytes as the body');
    if (chunkAddress(body) !== address) throw new NodeHttpError(400, 'AddressMismatch', `BLAKE3 of the body is not ${address}`);
    // A chunk already held needs no space: renew its lease, even on a full node.
    if (await store.claim(address)) {
      metrics.dedupHits.inc();
      return reply.code(200).send();
    }
    // Raw size plus header bounds what the file takes (LZ4 is kept only when it shrinks).
    // While the first count runs, stored bytes are partial; the reserve still guards the disk.
    const need = body.length + CHUNK_HEADER_BYTES;
    const { free } = await diskSpace(store.dir);
    if (counts.total().storedBytes + writing + need > capacityBytes || free - writing - need < reserveBytes) {
      throw new NodeHttpError(507, 'InsufficientStorage', `node ${id} has no room for ${need} more bytes`);
    }
    writing += need;
    let stored: boolean;
    try {
      stored = await store.put(address, body);
    } finally {
      writing -= need;
    }
    if (!stored) metrics.dedupHits.inc(); // a concurrent PUT of the same chunk got there first
    return reply.code(stored ? 201 : 200).send();
  });

  app.get('/chunks/:address', { config: { op: 'get' } }, async (request, reply) => {
    const address = addressParam(request);
    let data: Buffer;
    try {
      data = await store.get(address);
    } catch (err) {
      if (err instanceof ChunkCorruptError) {
        metrics.corruptChunks.inc();
        request.log.warn({ address }, 'corrupt chunk set aside');
        try {
          options.onCorrupt?.(address);
        } catch (hookError) {
          request.log.error({ err: hookError, address }, 'onCorrupt failed');
        }
      }
      throw err;
    }
    reply.type('application/octet-stream');
    const header = request.headers.range;
    if (header === undefined) return reply.send(data);
    const range = parseRange(header, data.length);
    if (range === undefined) {
      reply.header('content-range', `bytes */${data.length}`);
      throw new NodeHttpError(416, 'InvalidRange', `${header} is outside the chunk's ${data.length} bytes`);
    }
    const [start, end] = range;
    reply.code(206).header('content-range', `bytes ${start}-${end}/${data.length}`);
    return reply.send(data.subarray(start, end + 1));
  });

  app.head('/chunks/:address', { config: { op: 'head' } }, async (request, reply) => {
    const info = await store.stat(addressParam(request));
    if (info === undefined) throw new NodeHttpError(404, 'NotFound', 'chunk not held');
    reply.header(CLAIMED_AT_HEADER, String(info.claimedAt)).header(STORED_BYTES_HEADER, String(info.storedBytes));
    return reply.code(200).send();
  });

  app.post('/chunks/:address/claim', { config: { op: 'claim' } }, async (request) => ({ held: await store.claim(addressParam(request)) }));

  app.delete('/chunks/:address', { config: { op: 'delete' } }, async (request) => {
    const address = addressParam(request);
    const claimedBefore = numberParam(request, 'claimedBefore');
    if (claimedBefore === undefined) throw badRequest('claimedBefore is required');
    return { deleted: await store.deleteIfIdle(address, claimedBefore) };
  });

  app.post('/holding', { config: { op: 'holding' } }, async (request) => {
    const { addresses, claim } = parseHolding(request.body);
    const held = await mapLimited(addresses, HOLDING_CONCURRENCY, (a) => (claim ? store.claim(a) : store.has(a)));
    return { held };
  });

  app.get('/inventory', { config: { op: 'inventory' } }, async (request): Promise<InventoryPage> => {
    const after = hexParam(request, 'after');
    const prefix = hexParam(request, 'prefix');
    const limit = numberParam(request, 'limit') ?? INVENTORY_PAGE_MAX;
    if (limit < 1 || limit > INVENTORY_PAGE_MAX) throw badRequest(`limit must be 1..${INVENTORY_PAGE_MAX}`);
    const debrisIdleMs = numberParam(request, 'debrisIdleMs');
    const debrisBefore = debrisIdleMs === undefined ? undefined : Date.now() - debrisIdleMs;
    const chunks: InventoryPage['chunks'] = [];
    let more = false;
    for await (const info of store.inventory({ after, prefix, debrisBefore })) {
      if (chunks.length === limit) {
        more = true; // one look past the page tells whether there is a next one
        break;
      }
      chunks.push(info);
    }
    return { chunks, next: more ? chunks[chunks.length - 1].address : null };
  });

  app.get('/status', { config: { op: 'status' } }, status);

  counts.start();
  const stopReporting = reportStatusFrom(status);
  return {
    app,
    status,
    async close() {
      closing = true;
      stopReporting();
      await counts.stop();
      // Node closes only the connections idle at the moment it is told to, and never counts
      // as idle one that has not sent a request yet (a client's spare socket, or one whose
      // request it cancelled): both would hold close up for about a minute (keep-alive, header
      // timeout). So sweep both until the requests in flight are done.
      const sweepIdle = () => {
        app.server.closeIdleConnections();
        for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
      };
      sweepIdle();
      const sweep = setInterval(sweepIdle, 50);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
    },
  };
}

interface Tally {
  chunks: number;
  logicalBytes: number;
  storedBytes: number;
}

/**
 * The node's running totals: one walk of the disk at start, plus the changes the store
 * reports (chunk files appearing or disappearing: new puts, deletes, corrupt files set aside).
 *
 * While the walk runs, a change may concern a chunk the walk has yet to reach, or has passed.
 * The walk goes in address order and decides each chunk synchronously after looking at it, so
 * "passed" is `address <= walkedTo`; the store announces a change (begin) before the disk can
 * show it, and reports the sizes before and after once done (end). So:
 *  - a change that begins after the walk passed its address is a delta (after − before) on
 *    what the walk counted, which it saw before the change;
 *  - a change that begins before the walk passes its address marks it touched: the walk skips
 *    it, and its end counts the state after it; later changes to it are deltas.
 * Every chunk is counted once, by whichever saw it first. The touched set holds only addresses
 * changed during the walk, and is dropped when the walk ends.
 */
class ChunkCounts {
  counting = true;
  private readonly walked: Tally = { chunks: 0, logicalBytes: 0, storedBytes: 0 };
  private readonly changed: Tally = { chunks: 0, logicalBytes: 0, storedBytes: 0 };
  private walkedTo = '';
  private touched: Set<string> | undefined = new Set();
  /** Touched addresses whose first change has begun and not yet ended. */
  private readonly firstChanges = new Set<string>();
  private readonly unsubscribe: () => void;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: DiskChunkStore,
    private readonly log: FastifyBaseLogger,
  ) {
    this.unsubscribe = store.onChange({
      begin: (address) => {
        if (this.touched === undefined || address <= this.walkedTo || this.touched.has(address)) return;
        this.touched.add(address);
        this.firstChanges.add(address);
      },
      end: (address, before, after) => {
        if (!this.firstChanges.delete(address) && before !== undefined) add(this.changed, -1, before);
        if (after !== undefined) add(this.changed, 1, after);
      },
    });
  }

  total(): Tally {
    return {
      chunks: this.walked.chunks + this.changed.chunks,
      logicalBytes: this.walked.logicalBytes + this.changed.logicalBytes,
      storedBytes: this.walked.storedBytes + this.changed.storedBytes,
    };
  }

  start(): void {
    this.running = this.walkUntilDone();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.unsubscribe();
    await this.running;
  }

  /** Walks to the end, resuming after a failure where it stopped (the scheme above holds for
   * a walk taken in several runs, as long as each goes on in address order). */
  private async walkUntilDone(): Promise<void> {
    const signal = this.stopping.signal;
    const started = Date.now();
    while (!signal.aborted) {
      try {
        for await (const { address } of this.store.inventory({ after: this.walkedTo })) {
          if (signal.aborted) return;
          const info: ChunkStat | undefined = this.touched!.has(address) ? undefined : await this.store.stat(address);
          // Decided synchronously after the look: a change since then has marked it touched.
          if (info !== undefined && !this.touched!.has(address)) add(this.walked, 1, info);
          this.walkedTo = address;
        }
        this.touched = undefined;
        this.counting = false;
        this.log.info({ ...this.total(), ms: Date.now() - started }, 'chunk count done');
        return;
      } catch (err) {
        if (signal.aborted) return;
        this.log.error({ err }, `chunk count failed; resuming in ${COUNT_RETRY_MS / 1000} s`);
        await sleep(COUNT_RETRY_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}

/** Any failure as the protocol's JSON error. */
function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toHttpError(error);
  // A full node refuses every PUT until space frees: that is the protocol working (placement
  // passes it over), not an error to page anyone about.
  if (e.status >= 500 && e.code !== 'InsufficientStorage') request.log.error({ err: error }, 'internal error');
  else request.log.debug({ code: e.code, msg: e.message }, 'refused');
  // A body we did not read must not be taken for the next request on this connection.
  if (!request.raw.complete) reply.header('connection', 'close');
  reply.code(e.status).header(NODE_TIME_HEADER, String(Date.now())).send({ error: e.code, message: e.message });
}

function add(tally: Tally, sign: 1 | -1, sizes: ChunkSizes): void {
  tally.chunks += sign;
  tally.storedBytes += sign * sizes.storedBytes;
  tally.logicalBytes += sign * sizes.logicalBytes;
}

function digest(text: string): Buffer {
  // Hashing first gives timingSafeEqual equal lengths whatever the caller sent.
  return createHash('sha256').update(text).digest();
}

async function diskSpace(dir: string): Promise<{ size: number; free: number }> {
  const s = await statfs(dir);
  return { size: s.blocks * s.bsize, free: s.bavail * s.bsize };
}

function opOf(request: FastifyRequest): NodeOp | undefined {
  return (request.routeOptions.config as { op?: NodeOp }).op;
}

function addressParam(request: FastifyRequest): string {
  const { address } = request.params as { address: string };
  if (!ADDRESS_PATTERN.test(address)) throw badRequest(`not a chunk address: ${JSON.stringify(address.slice(0, 80))}`);
  return address;
}

function queryParam(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${name} must be given once`);
  return value;
}

/** A non-negative integer query parameter. */
function numberParam(request: FastifyRequest, name: string): number | undefined {
  const value = queryParam(request, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw badRequest(`${name} must be a non-negative integer`);
  return Number(value);
}

function hexParam(request: FastifyRequest, name: string): string | undefined {
  const value = queryParam(request, name);
  if (value !== undefined && !/^[0-9a-f]{0,64}$/.test(value)) throw badRequest(`${name} must be lowercase hex, at most 64 digits`);
  return value || undefined;
}

function parseHolding(body: unknown): { addresses: string[]; claim: boolean } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : '');
  } catch {
    throw badRequest('expected a JSON body { addresses, claim? }');
  }
  const { addresses, claim = false } = (parsed ?? {}) as { addresses?: unknown; claim?: unknown };
  if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === 'string' && ADDRESS_PATTERN.test(a))) {
    throw badRequest('addresses must be an array of chunk addresses');
  }
  if (addresses.length > HOLDING_MAX) throw badRequest(`at most ${HOLDING_MAX} addresses per request`);
  if (typeof claim !== 'boolean') throw badRequest('claim must be a boolean');
  return { addresses, claim };
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` as [first, last] (inclusive) within `length` bytes;
 * undefined when unsatisfiable. A malformed or multi-range header is a BadRequest. */
function parseRange(header: string, length: number): [number, number] | undefined {
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) throw badRequest(`unsupported range ${JSON.stringify(header.slice(0, 80))}`);
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 || length === 0 ? undefined : [Math.max(0, length - suffix), length - 1];
  }
  const first = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < first) throw badRequest(`range ${header} ends before it starts`);
  if (first >= length) return undefined;
  return [first, m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1)];
}

function toHttpError(error: unknown): NodeHttpError {
  if (error instanceof NodeHttpError) return error;
  if (error instanceof ChunkNotFoundError) return new NodeHttpError(404, 'NotFound', error.message);
  if (error instanceof ChunkCorruptError) return new NodeHttpError(422, 'ChunkCorrupt', `${error.message}; set aside, repair from a replica`);
  const status = (error as { statusCode?: number }).statusCode;
  const message = (error as Error).message ?? String(error);
  if (status === 413) return new NodeHttpError(413, 'TooLarge', message);
  // Fastify's own refusals (bad content length, malformed request, ...).
  if (status !== undefined && status >= 400 && status < 500) return new NodeHttpError(400, 'BadRequest', message);
  return new NodeHttpError(500, 'InternalError', 'internal error');
}
