import { Pool, errors, type Dispatcher } from 'undici';
import { ADDRESS_PATTERN, chunkAddress } from './address';
import { ChunkCorruptError, ChunkNotFoundError, type ChunkInfo, type ChunkStore, type ChunkStoreStats } from './chunk-store';
import {
  CLAIMED_AT_HEADER,
  HOLDING_MAX,
  NODE_TIME_HEADER,
  STORED_BYTES_HEADER,
  type InventoryPage,
  type NodeErrorCode,
  type NodeStatus,
} from './protocol';

/** The node could not be reached or failed (refused, reset, timed out, 5xx): try another. */
export class NodeUnavailableError extends Error {
  constructor(
    readonly nodeUrl: string,
    cause: unknown,
  ) {
    super(`storage node ${nodeUrl} unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'NodeUnavailableError';
  }
}

/** The node has no room for the chunk (507): place it elsewhere. */
export class NodeFullError extends Error {
  constructor(readonly nodeUrl: string) {
    super(`storage node ${nodeUrl} is full`);
    this.name = 'NodeFullError';
  }
}

/** The node found that the bytes sent are not the address's (400 AddressMismatch). */
export class AddressMismatchError extends Error {
  constructor(
    readonly nodeUrl: string,
    readonly address: string,
  ) {
    super(`storage node ${nodeUrl}: bytes sent for ${address} have another BLAKE3`);
    this.name = 'AddressMismatchError';
  }
}

/** Any other refusal (401, 400, 413): a bug or a misconfiguration, not worth a retry. */
export class NodeRequestError extends Error {
  constructor(
    readonly nodeUrl: string,
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`storage node ${nodeUrl} answered ${status} ${code}: ${message}`);
    this.name = 'NodeRequestError';
  }
}

export interface RemoteChunkStoreOptions {
  url: string;
  secret: string;
  /** Sockets kept to the node; default 16. */
  connections?: number;
  /** Longest wait for the connection, the response's headers, and between body bytes; default 10 s. */
  timeoutMs?: number;
}

interface Call {
  method: Dispatcher.HttpMethod;
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: Buffer | string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** The chunk the call is about, for the errors it may raise. */
  address?: string;
  /** Return a 404 answer rather than throw (HEAD). */
  allow404?: boolean;
}

/**
 * A ChunkStore on one storage node over HTTP (protocol.ts), through a pool of keep-alive
 * sockets. Bytes read are verified against their address here too, so a chunk damaged
 * anywhere between the node's disk and this process is caught.
 *
 * Lease times cross clocks: the node stamps leases with its own clock, which may differ from
 * ours by minutes, and a lease is only meaningful against a cutoff taken on the same clock.
 * Every response carries the node's time, so the client keeps offset = (our time at the
 * response) − (the node's time in it), adds it to the node's claimedAt to get our clock, and
 * subtracts it from a delete's cutoff to get the node's. The offset also holds the response's
 * travel time, which only makes chunks look claimed later, and cutoffs fall earlier, than
 * exactly: the safe direction for a collector. (Debris ages go as durations, debrisIdleMs:
 * an hour's grace dwarfs the travel time, and nothing races a temp file's age.)
 */
export class RemoteChunkStore implements ChunkStore {
  readonly url: string;
  private readonly pool: Pool;
  private readonly authorization: string;
  /** Our clock minus the node's, from the latest response; undefined before the first. */
  private offset: number | undefined;
  private closed = false;

  constructor(options: RemoteChunkStoreOptions) {
    this.url = new URL(options.url).origin;
    const timeout = options.timeoutMs ?? 10_000;
    this.pool = new Pool(this.url, {
      connections: options.connections ?? 16,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: { timeout },
    });
    this.authorization = `Bearer ${options.secret}`;
  }

  async put(address: string, data: Buffer): Promise<boolean> {
    const res = await this.call({
      method: 'PUT',
      path: chunkPath(address),
      body: data,
      headers: { 'content-type': 'application/octet-stream' },
      address,
    });
    await this.drain(res);
    return res.statusCode === 201;
  }

  async claim(address: string): Promise<boolean> {
    const { held } = await this.json<{ held: boolean }>({ method: 'POST', path: `${chunkPath(address)}/claim`, address });
    return held;
  }

  /** The verified bytes; `signal` aborts the read (hedged reads cancel the loser). */
  async get(address: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const data = await this.bytes({ method: 'GET', path: chunkPath(address), signal: options.signal, address });
    if (chunkAddress(data) !== address) throw new ChunkCorruptError(address);
    return data;
  }

  /** Bytes [start, end) of the chunk (end exclusive, as in Buffer.subarray). The node checks
   * the whole chunk before slicing; a slice cannot be checked here. RangeError past its end. */
  async getRange(address: string, start: number, end: number): Promise<Buffer> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
      throw new RangeError(`bad range [${start}, ${end})`);
    }
    return this.bytes({ method: 'GET', path: chunkPath(address), headers: { range: `bytes=${start}-${end - 1}` }, address });
  }

  /** The chunk's lease (in our clock) and size on disk; undefined if the node does not hold it. */
  async head(address: string): Promise<{ claimedAt: number; storedBytes: number } | undefined> {
    const res = await this.call({ method: 'HEAD', path: chunkPath(address), address, allow404: true });
    await this.drain(res);
    if (res.statusCode === 404) return undefined;
    return {
      claimedAt: Number(res.headers[CLAIMED_AT_HEADER]) + (this.offset ?? 0),
      storedBytes: Number(res.headers[STORED_BYTES_HEADER]),
    };
  }

  async deleteIfIdle(address: string, claimedBefore: number): Promise<boolean> {
    checkAddress(address);
    if (this.offset === undefined) await this.drain(await this.call({ method: 'GET', path: '/health' })); // learn the node's clock
    const cutoff = Math.max(0, Math.floor(claimedBefore - (this.offset ?? 0)));
    const { deleted } = await this.json<{ deleted: boolean }>({ method: 'DELETE', path: chunkPath(address), query: { claimedBefore: cutoff }, address });
    return deleted;
  }

  /** Which of `addresses` the node holds, in order; with `claim`, renews their leases. */
  async holding(addresses: string[], claim = false): Promise<boolean[]> {
    for (const a of addresses) checkAddress(a);
    const held: boolean[] = [];
    for (let i = 0; i < addresses.length; i += HOLDING_MAX) {
      const batch = addresses.slice(i, i + HOLDING_MAX);
      const answer = await this.json<{ held: boolean[] }>({
        method: 'POST',
        path: '/holding',
        body: JSON.stringify({ addresses: batch, claim }),
        headers: { 'content-type': 'application/json' },
      });
      held.push(...answer.held);
    }
    return held;
  }

  /** One page of the node's chunks in address order, claimedAt in our clock. */
  async inventoryPage(options: { after?: string; prefix?: string; limit?: number; debrisBefore?: number } = {}): Promise<InventoryPage> {
    const debrisIdleMs = options.debrisBefore === undefined ? undefined : Math.max(0, Math.floor(Date.now() - options.debrisBefore));
    const page = await this.json<InventoryPage>({
      method: 'GET',
      path: '/inventory',
      query: { after: options.after, prefix: options.prefix, limit: options.limit, debrisIdleMs },
    });
    for (const chunk of page.chunks) chunk.claimedAt += this.offset ?? 0;
    return page;
  }

  async *inventory(options: { debrisBefore?: number; after?: string; prefix?: string } = {}): AsyncGenerator<ChunkInfo> {
    let after = options.after;
    for (;;) {
      const page = await this.inventoryPage({ after, prefix: options.prefix, debrisBefore: options.debrisBefore });
      yield* page.chunks;
      if (page.next === null) return;
      after = page.next;
    }
  }

  async status(): Promise<NodeStatus> {
    return this.json<NodeStatus>({ method: 'GET', path: '/status' });
  }

  async stats(): Promise<ChunkStoreStats> {
    const { chunks, storedBytes } = await this.status();
    return { chunks, storedBytes };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
  }

  private async json<T>(call: Call): Promise<T> {
    const res = await this.call(call);
    try {
      return (await res.body.json()) as T;
    } catch (err) {
      throw this.failure(err, call.signal);
    }
  }

  private async bytes(call: Call): Promise<Buffer> {
    const res = await this.call(call);
    try {
      return Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      throw this.failure(err, call.signal);
    }
  }

  /** Sends the request and returns a 2xx response (its body still to read); any other answer
   * becomes the matching error, its body consumed so the socket can be reused. */
  private async call(call: Call): Promise<Dispatcher.ResponseData> {
    if (this.closed) throw new Error('RemoteChunkStore is closed');
    if (call.address !== undefined) checkAddress(call.address);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method: call.method,
        path: call.path + queryString(call.query),
        body: call.body,
        headers: { authorization: this.authorization, ...call.headers },
        signal: call.signal,
      });
    } catch (err) {
      throw this.failure(err, call.signal);
    }
    const nodeTime = Number(res.headers[NODE_TIME_HEADER]);
    if (Number.isFinite(nodeTime) && nodeTime > 0) this.offset = Date.now() - nodeTime;
    if (res.statusCode < 300 || (call.allow404 && res.statusCode === 404)) return res;
    let error: { error?: NodeErrorCode; message?: string } = {};
    try {
      error = JSON.parse(await res.body.text()) as typeof error;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw this.failure(err, call.signal);
    }
    throw this.refusal(res.statusCode, error.error ?? 'Unknown', error.message ?? '', call.address);
  }

  private refusal(status: number, code: string, message: string, address: string | undefined): Error {
    if (status === 404 && address !== undefined) return new ChunkNotFoundError(address);
    if (status === 422 && address !== undefined) return new ChunkCorruptError(address);
    if (status === 400 && code === 'AddressMismatch' && address !== undefined) return new AddressMismatchError(this.url, address);
    if (status === 416) return new RangeError(message);
    if (status === 507) return new NodeFullError(this.url);
    if (status >= 500) return new NodeUnavailableError(this.url, new Error(`${status} ${code}: ${message}`));
    return new NodeRequestError(this.url, status, code, message);
  }

  /** A transport failure is the node's unavailability, unless the caller aborted. */
  private failure(err: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason ?? err;
    if (err instanceof errors.InvalidArgumentError) return err; // our bug, not the node's
    return new NodeUnavailableError(this.url, err);
  }

  private async drain(res: Dispatcher.ResponseData): Promise<void> {
    try {
      await res.body.dump();
    } catch {
      // dump destroys the body when it cannot read it: the socket is dropped, nothing to do
    }
  }
}

function checkAddress(address: string): void {
  if (!ADDRESS_PATTERN.test(address)) throw new TypeError(`not a chunk address: ${JSON.stringify(address)}`);
}

function chunkPath(address: string): string {
  return `/chunks/${address}`;
}

function queryString(query: Call['query']): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}
