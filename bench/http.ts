import http, { type IncomingHttpHeaders } from 'node:http';
import { encodePath, SigV4Signer, type Credentials } from './sigv4';

/**
 * A small S3 client on node:http with a keep-alive Agent: SigV4 with UNSIGNED-PAYLOAD (or the
 * x-amz-content-sha256 a caller passes in `headers`), bodies streamed with backpressure,
 * responses either collected or handed piece by piece to a sink. No SDK in the loop, so the
 * client's own overhead per request and per byte stays small. Like an SDK, it sends a request
 * whose body it holds (a Buffer, or none) again after a 500 or 503 or a connection reset, up
 * to 3 times, and counts it; it also counts the TCP connections it opens (keep-alive should
 * make them few).
 */

export interface S3Response {
  status: number;
  headers: IncomingHttpHeaders;
  /** The response body, when no sink was given. */
  body: Buffer;
  /** Bytes received in the body. */
  bytes: number;
}

export interface S3Request {
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE' | 'POST';
  bucket: string;
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A whole body, or pieces pulled one at a time (Content-Length must then be given). */
  body?: Buffer | Iterable<Buffer>;
  contentLength?: number;
  /** Receives each body piece instead of collecting them. */
  sink?: (piece: Buffer) => void;
  /** Send without an Authorization header (rfs's own endpoints, a plain HTTP server). */
  anonymous?: boolean;
}

export interface ClientStats {
  connections: number;
  retries: number;
}

const RETRIES = 3;

export class S3Http {
  readonly agent: http.Agent;
  private readonly signer: SigV4Signer;
  private readonly host: string;
  private readonly hostname: string;
  private readonly port: number;

  readonly stats: ClientStats = { connections: 0, retries: 0 };

  constructor(baseUrl: string, creds: Credentials, maxSockets: number) {
    const u = new URL(baseUrl);
    this.host = u.host;
    this.hostname = u.hostname;
    this.port = Number(u.port);
    this.signer = new SigV4Signer(creds);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    const connect = this.agent.createConnection.bind(this.agent);
    this.agent.createConnection = (...args: Parameters<typeof connect>) => {
      this.stats.connections++;
      return connect(...args);
    };
  }

  async request(r: S3Request): Promise<S3Response> {
    const replayable = r.body === undefined || Buffer.isBuffer(r.body);
    for (let attempt = 1; ; attempt++) {
      let res: S3Response;
      try {
        res = await this.send(r);
      } catch (e) {
        // A keep-alive connection the server closed as the request went out: sent again.
        const code = (e as NodeJS.ErrnoException).code;
        if (!replayable || attempt > RETRIES || (code !== 'ECONNRESET' && code !== 'EPIPE')) {
          throw new Error(`${r.method} ${encodePath(r.bucket, r.key)}: ${(e as Error).message}`, { cause: e });
        }
        this.stats.retries++;
        continue;
      }
      if (!replayable || attempt > RETRIES || (res.status !== 500 && res.status !== 503)) return res;
      this.stats.retries++;
      await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
    }
  }

  private send(r: S3Request): Promise<S3Response> {
    const path = encodePath(r.bucket, r.key);
    const qs = new URLSearchParams(r.query ?? {}).toString().replace(/\+/g, '%20');
    const extra: Record<string, string> = { ...r.headers };
    const length = Buffer.isBuffer(r.body) ? r.body.length : r.contentLength;
    if (r.body !== undefined && length === undefined) throw new Error('a streamed body needs contentLength');
    if (length !== undefined) extra['content-length'] = String(length);
    const headers = r.anonymous ? { ...extra, host: this.host } : this.signer.sign({ method: r.method, host: this.host, path, query: r.query, headers: extra });

    return new Promise<S3Response>((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown) => {
        if (!settled) {
          settled = true;
          reject(e);
        }
      };
      const req = http.request({
        agent: this.agent,
        hostname: this.hostname,
        port: this.port,
        method: r.method,
        path: qs ? `${path}?${qs}` : path,
        headers,
      });
      let responded = false;
      req.on('error', fail);
      req.on('response', (res) => {
        responded = true;
        const pieces: Buffer[] = [];
        let bytes = 0;
        res.on('data', (piece: Buffer) => {
          bytes += piece.length;
          if (r.sink) r.sink(piece);
          else pieces.push(piece);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(pieces), bytes });
        });
      });

      if (r.body === undefined) req.end();
      else if (Buffer.isBuffer(r.body)) req.end(r.body);
      else {
        const source = r.body;
        void (async () => {
          for (const piece of source) {
            // The server may answer early (an error) and stop reading: stop sending then.
            if (responded || settled || req.destroyed) return;
            if (!req.write(piece)) await drained(req);
          }
          req.end();
        })().catch(fail);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Resolves once the request can take more data, or has closed (the response handler or the
 * error handler reports what happened). */
function drained(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/** Throws with the response's S3 error text unless the status is 2xx. */
export function expectOk(res: S3Response, what: string): void {
  if (res.status < 200 || res.status > 299) {
    const text = res.body.toString('utf8').slice(0, 500);
    throw new Error(`${what}: HTTP ${res.status}${text ? `\n${text}` : ''}`);
  }
}
