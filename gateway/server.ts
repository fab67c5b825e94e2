import { randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { authenticate, type SignatureVersion } from './auth';
import { S3Error, S3_ERRORS, type S3ErrorCode } from './protocol/errors';
import { resolveTarget } from './s3/addressing';
import { resolveRoute } from './s3/routes';
import { actualRequestCorsHeaders } from './s3/cors';
import { parseVersionId } from './s3/versioning';
import type { RequestFacts } from './iam/authorize';
import type { Target } from './s3/addressing';
import { xmlDocument } from './protocol/xml';
import { MetadataError } from '../metadata/store';
import { MetadataUnavailable } from '../metadata/sql';
import type { BucketCall, S3Call, Services } from './services';
import { metrics, registry } from './metrics';

/** Node's limit on the request head; S3 answers 400 RequestHeaderSectionTooLarge past 8 KiB
 * of headers, we allow more and still answer in S3's words. */
const MAX_HEADER_BYTES = 64 * 1024;

/** After an early error answer with `Connection: close`, the request body the client is still
 * sending is read and dropped, up to this much for this long, before the socket is closed:
 * closing a socket with unread bytes makes the kernel reset the connection, and a reset can
 * destroy the answer before the client reads it. */
const LINGER_BYTES = 1024 * 1024;
const LINGER_MS = 3_000;

/** Node's test for a 100-continue expectation (lib/_http_server.js). */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * The S3 HTTP front end. One catch-all route: every request is addressed (path-style or
 * virtual-hosted), authenticated from its headers before any body byte is read, matched to
 * an action in routes.ts, and handed to that action's handler. Bodies are never parsed by
 * fastify: object data streams from the socket to the chunk store.
 */
export function buildServer(services: Services, logger: Services['log']): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    // One access-log line per request comes from the onResponse hook, with the S3 action.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomBytes(8).toString('hex').toUpperCase(),
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 4096 },
    // Idle sockets time out; a long upload that keeps sending is never cut off.
    connectionTimeout: 120_000,
    requestTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // A request without Host is answered in S3's words by the onRequest hook, not by Node's
    // bodiless 400.
    http: { maxHeaderSize: MAX_HEADER_BYTES, requireHostHeader: false },
    clientErrorHandler: clientError,
    // The router refuses a path it cannot decode (not UTF-8) before any handler runs.
    frameworkErrors: (error, request, reply) =>
      sendError(error.code === 'FST_ERR_BAD_URL' ? new S3Error('InvalidURI') : error, request, reply),
  });

  // Node answers `Expect: 100-continue` by itself unless someone listens: take it over, so a
  // request that fails authentication is refused before the client sends its body.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));
  // Any other expectation too (Node would answer a bodiless 417): the onRequest hook refuses it.
  app.server.on('checkExpectation', (req, res) => app.server.emit('request', req, res));
  // Node drops a CONNECT nobody listens for without a word; S3 answers it 405.
  app.server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    writeRawError(socket, 'MethodNotAllowed', req.url, { Method: 'CONNECT', ResourceType: 'SERVICE' });
  });

  // Bodies are never parsed by fastify (handlers stream request.raw), so no method has a body
  // as far as fastify knows: it then never looks at Content-Type, and an empty or malformed one
  // (PutObject stores it as the object's Content-Type, as S3 does) cannot become fastify's 415
  // FST_ERR_CTP_INVALID_MEDIA_TYPE or QUERY's "must provide a Content-Type".
  for (const method of ['DELETE', 'OPTIONS', 'PATCH', 'PUT', 'POST', 'QUERY']) {
    app.addHttpMethod(method, { hasBody: false, overrideExisting: true });
  }

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-amz-request-id', request.id);
    reply.header('x-amz-id-2', randomBytes(24).toString('base64'));
    reply.header('server', 'rfs');
    const raw = request.raw;
    const http11 = raw.httpVersionMajor === 1 && raw.httpVersionMinor === 1;
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (HTTP/1.0 may omit it).
    if (http11 && request.headers.host === undefined) {
      throw new S3Error('InvalidArgument', 'A Host header is required.', { ArgumentName: 'Host', ArgumentValue: '' });
    }
    // S3 documents no answer for an expectation other than 100-continue (HTTP/1.0 ignores Expect).
    const expect = request.headers.expect;
    if (http11 && expect !== undefined && !CONTINUE_EXPECTATION.test(expect)) {
      throw new S3Error('InvalidRequest', 'The only expectation supported is 100-continue.', { ArgumentName: 'Expect', ArgumentValue: expect });
    }
  });
  // Every answer to a cross-origin request, errors included, carries the CORS headers of the
  // bucket's matching rule (preflights set their own).
  app.addHook('onSend', async (request, reply, payload) => {
    const bucket = (request as RequestWithAction).s3Bucket;
    if (bucket === undefined || request.method === 'OPTIONS' || request.headers.origin === undefined) return payload;
    try {
      const headers = await actualRequestCorsHeaders(services, bucket, request);
      if (headers) reply.headers(headers);
    } catch (err) {
      request.log.warn({ err }, 'CORS headers not added');
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const action = (request as RequestWithAction).s3Action ?? 'unknown';
    metrics.requests.inc({ action, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ action }, reply.elapsedTime / 1000);
    request.log.info({ method: request.method, url: request.url, action, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => sendError(new S3Error('MethodNotAllowed'), request, reply));

  app.get('/_rfs/health', async () => ({ status: 'ok' }));
  app.get('/_rfs/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  app.route({
    method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH'],
    url: '*',
    handler: async (request, reply) => {
      const target = resolveTarget(request.raw.url ?? '/', request.headers.host, services.config.domain);
      const state = request as RequestWithAction;
      state.s3Bucket = target.bucket;
      const route = resolveRoute(request.method, target, request.headers);
      state.s3Action = route.action;
      // A body-signed call (STS) authenticates itself once it has read its body. A CORS
      // preflight carries no credentials, though its URL may be a presigned one's (the
      // signature is for the request it asks about), and needs no permission.
      const auth = route.bodySigned || route.iam === undefined
        ? { principal: { anonymous: true as const }, payload: { mode: 'unsigned' as const } }
        : await authenticate(
            {
              method: request.method, rawPath: target.rawPath, rawQuery: target.rawQuery, headers: request.headers, rawHeaders: request.raw.rawHeaders,
              sigv2: services.config.sigv2 ? { bucketInHost: target.bucketInHost } : undefined,
            },
            services.identity,
          );
      const caller = auth.principal.anonymous ? undefined : auth.principal.credential;
      const facts = requestFacts(request, target, caller, auth.signatureVersion);
      // Checked before authorization, which may look the version up (an object ACL): the
      // store's column is a UUID, and '' or junk there was a 500.
      const versionId = parseVersionId(target.query);
      const bucket = await services.access.authorize({
        caller, action: route.iam, bucket: target.bucket, key: target.key, versionId, facts,
        creating: route.action === 'CreateBucket', perKey: route.perKey,
      });
      const authorize = async (action: string, name: string, key?: string, version?: string) =>
        (await services.access.authorize({ caller, action, bucket: name, key, versionId: version, facts }))!;
      // Only an authorized request to a known action is told to send its body.
      if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue();
      const call: S3Call = { services, target, caller, bucket, payload: auth.payload, authorize, facts, request, reply };
      // authorize() loaded the bucket of every bucket and object action; the handlers of the
      // others (ListBuckets, CreateBucket, STS, preflights) take S3Call and never read it.
      await route.handler(call as BucketCall);
      return reply;
    },
  });
  return app;
}

type RequestWithAction = FastifyRequest & { s3Action?: string; s3Bucket?: string };

/** What policy conditions may ask about a request. */
function requestFacts(request: FastifyRequest, target: Target, caller: unknown, signatureVersion?: SignatureVersion): RequestFacts {
  const authType = caller === undefined ? undefined : request.headers.authorization !== undefined ? 'REST-HEADER' : 'REST-QUERY-STRING';
  return {
    ip: request.ip, secure: request.protocol === 'https', headers: request.headers, query: target.query, authType,
    signatureVersion: caller === undefined ? undefined : signatureVersion,
  };
}

/** Every error as S3's XML, with S3's status; 304 answers carry no body. A HEAD answer gets
 * the XML's Content-Length and Node sends no body: without a length, HTTP clients close the
 * connection after every HEAD of a missing key. */
function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toS3Error(error, request.log);
  if (e.code === 'InternalError') request.log.error({ err: error }, 'internal error');
  else request.log.debug({ code: e.code, message: e.message }, 's3 error');
  if (reply.sent || reply.raw.headersSent) {
    // Part of the body is out: the only honest signal left is a cut connection.
    request.raw.destroy();
    return;
  }
  for (const name of Object.keys(reply.getHeaders())) {
    if (!['x-amz-request-id', 'x-amz-id-2', 'server'].includes(name)) reply.removeHeader(name);
  }
  reply.code(e.status).headers(e.headers);
  // A body we did not read must not be taken for the next request on this connection; the
  // client may still be sending it, so the socket lingers before it closes.
  if (!request.raw.complete) {
    reply.header('connection', 'close');
    lingerOnClose(request.raw.socket);
  }
  if (e.status === 304) {
    reply.send();
    return;
  }
  const resource = request.raw.url?.split('?')[0] ?? '/';
  reply.type('application/xml').send(
    xmlDocument('Error', { Code: e.code, Message: e.message, ...e.fields, Resource: resource, RequestId: request.id }, false),
  );
}

/** How long a client is told to wait before retrying while the database is unreachable. */
const RETRY_AFTER_SECONDS = '1';
let lastUnavailableWarning = 0;

function toS3Error(error: unknown, log: FastifyRequest['log']): S3Error {
  if (error instanceof S3Error) return error;
  if (error instanceof MetadataError) return new S3Error(error.code satisfies S3ErrorCode);
  if (error instanceof MetadataUnavailable) {
    // 503 is S3's "retry me": every SDK backs off and retries it. Logged once per 10 s.
    metrics.metadataUnavailable.inc();
    if (Date.now() - lastUnavailableWarning > 10_000) {
      lastUnavailableWarning = Date.now();
      log.warn({ err: error.message }, 'metadata database unreachable: answering 503 until it is back');
    }
    return new S3Error('ServiceUnavailable', undefined, {}, { 'retry-after': RETRY_AFTER_SECONDS });
  }
  const err = error as { code?: string; statusCode?: number; message?: string };
  // PostgreSQL's "invalid byte sequence" (a NUL in text) and "untranslatable character" (\u0000
  // in JSON): a character in the request that no check at the edge (addressing.ts, parseXml)
  // caught. The request is at fault, not the server; logged so the gap gets its own check.
  if (err.code === '22021' || err.code === '22P05') {
    log.warn({ err: err.message }, 'request text PostgreSQL cannot store');
    return new S3Error('InvalidArgument', 'The request contains an invalid character.');
  }
  if (err.code === 'ECONNRESET' || err.message === 'aborted') return new S3Error('IncompleteBody');
  if (err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return new S3Error('IncompleteBody');
  if (err.statusCode === 413) return new S3Error('EntityTooLarge');
  return new S3Error('InternalError');
}

/** Makes Node's close of the socket after this response (socket.destroySoon) a graceful one. */
function lingerOnClose(socket: Duplex & { destroySoon?: () => void }): void {
  if (!socket || socket.destroyed) return;
  socket.destroySoon = () => closeGracefully(socket);
}

/**
 * Closes a socket gracefully: the write side first (FIN after the answer), then what the
 * client still sends is read and dropped, up to LINGER_BYTES / LINGER_MS, and only then is the
 * socket destroyed. Destroyed at once (as Node's socket.destroySoon does), the kernel answers
 * the body bytes still arriving with a reset that can discard the answer before the client
 * reads it; merely ended, a socket nobody reads would wait for the client's FIN forever.
 */
function closeGracefully(socket: Duplex, last?: string): void {
  let drained = 0;
  const close = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  socket.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_BYTES) close();
  });
  socket.once('end', close);
  socket.once('error', close);
  socket.end(last);
  socket.resume();
}

/** Errors Node raises before a request reaches fastify (oversized or malformed head, a
 * method its parser does not know). */
function clientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return;
  // An answer to an earlier request on this connection is still going out: another one
  // written now would be spliced into it.
  if ((socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const code: S3ErrorCode =
    error.code === 'HPE_HEADER_OVERFLOW' ? 'RequestHeaderSectionTooLarge'
      : error.code === 'HPE_INVALID_METHOD' ? 'MethodNotAllowed'
        : 'InvalidRequest';
  writeRawError(socket, code);
}

/** An S3 XML error written straight to a socket that no fastify request owns, then closed. */
function writeRawError(socket: Duplex, code: S3ErrorCode, resource?: string, fields: Record<string, string> = {}): void {
  if (!socket.writable) return;
  const [status, message] = S3_ERRORS[code];
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const body = xmlDocument('Error', { Code: code, Message: message, ...fields, ...(resource ? { Resource: resource } : {}), RequestId: requestId }, false);
  closeGracefully(
    socket,
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `x-amz-request-id: ${requestId}\r\nServer: rfs\r\nConnection: close\r\n\r\n${body}`,
  );
}
