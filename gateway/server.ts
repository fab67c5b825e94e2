import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { authenticate } from './auth';
import { S3Error, S3_ERRORS, type S3ErrorCode } from './protocol/errors';
import { resolveTarget } from './s3/addressing';
import { resolveRoute } from './s3/routes';
import { actualRequestCorsHeaders } from './s3/cors';
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
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    clientErrorHandler: clientError,
    // The router refuses a path it cannot decode (not UTF-8) before any handler runs.
    frameworkErrors: (error, request, reply) =>
      sendError(error.code === 'FST_ERR_BAD_URL' ? new S3Error('InvalidURI') : error, request, reply),
  });

  // Node answers `Expect: 100-continue` by itself unless someone listens: take it over, so a
  // request that fails authentication is refused before the client sends its body.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-amz-request-id', request.id);
    reply.header('x-amz-id-2', randomBytes(24).toString('base64'));
    reply.header('server', 'rfs');
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
            { method: request.method, rawPath: target.rawPath, rawQuery: target.rawQuery, headers: request.headers, rawHeaders: request.raw.rawHeaders },
            services.identity,
          );
      const caller = auth.principal.anonymous ? undefined : auth.principal.credential;
      const facts = requestFacts(request, target, caller);
      const versionId = target.query.get('versionId') ?? undefined;
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
function requestFacts(request: FastifyRequest, target: Target, caller: unknown): RequestFacts {
  const authType = caller === undefined ? undefined : request.headers.authorization !== undefined ? 'REST-HEADER' : 'REST-QUERY-STRING';
  return { ip: request.ip, secure: request.protocol === 'https', headers: request.headers, query: target.query, authType };
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
  // A body we did not read must not be taken for the next request on this connection.
  if (!request.raw.complete) reply.header('connection', 'close');
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
  if (err.code === 'ECONNRESET' || err.message === 'aborted') return new S3Error('IncompleteBody');
  if (err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return new S3Error('IncompleteBody');
  if (err.statusCode === 413) return new S3Error('EntityTooLarge');
  return new S3Error('InternalError');
}

/** Errors Node raises before a request reaches fastify (oversized or malformed head). */
function clientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const code: S3ErrorCode = error.code === 'HPE_HEADER_OVERFLOW' ? 'RequestHeaderSectionTooLarge' : 'InvalidRequest';
  const [status, message] = S3_ERRORS[code];
  const body = xmlDocument('Error', { Code: code, Message: message }, false);
  socket.end(
    `HTTP/1.1 ${status} Bad Request\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
