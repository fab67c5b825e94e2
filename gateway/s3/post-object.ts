import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import Busboy, { type BusboyFileStream, type BusboyHeaders } from '@fastify/busboy';
import type { Tags } from '../../metadata/store';
import type { BucketCall, Services } from '../services';
import type { RequestFacts } from '../iam/authorize';
import { newObjectAcl } from './ownership';
import {
  authenticatePostForm, entityTooLarge, entityTooSmall, evaluatePostPolicy, missingField, parsePostPolicy, type FormFields, type SizeRange,
} from '../auth/post-policy';
import { checkKey } from './addressing';
import { S3Error } from '../protocol/errors';
import { storedHeaders, userMetadata } from './object-headers';
import { objectLockHeaders } from './object-lock';
import { parseTaggingHeader } from './tagging';
import { parseXml } from '../protocol/xml';
import { xmlList } from '../protocol/xml-fields';

/**
 * POST Object: the browser form upload.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 * The form authenticates itself (a SigV4-signed policy, gateway/auth/post-policy.ts), so this
 * runs for requests without an Authorization header. The fields before the file are read
 * (at most 20 KiB of them) and the policy is checked against them before any byte of the
 * file is; the file then streams into the chunk store, held to the policy's size range as it
 * goes, never whole in memory.
 */

/** S3's bound on the form fields that precede the file (names and values). */
const MAX_PRE_DATA = 20 * 1024;
/** As for a single PUT. */
const MAX_POST_BYTES = 5 * 1024 ** 3;

/** The routed action. The caller is whoever signed the form (a POST that came with an
 * Authorization header goes the same way: the form's own signature is what S3 checks), and
 * it is authorized for the key the form names. */
export async function postObject(call: BucketCall): Promise<void> {
  const { services, target, request, reply, facts } = call;
  checkFormType(request.headers['content-type']);
  requireLength(request.headers);
  // On any refusal below, the unread rest of the body is left alone: sendError closes the
  // connection instead of reading a file that will not be stored.
  const form = await readFormHead(request.raw, request.headers);
  const { fields } = form;
  const { writer, key, range } = await admit(form, services, target.bucket, facts);
  const acl = fields.get('acl');
  // The form's length bounds the file's: enough to hold a quota.
  await services.quota.check(call.bucket, Number(request.headers['content-length'] ?? 0));
  const { owner, acl: grants } = await newObjectAcl(call, call.bucket, writer, acl === undefined ? {} : { 'x-amz-acl': acl });
  const headers = fieldHeaders(fields);
  const meta = userMetadata(headers);
  const tags = formTags(fields.get('tagging'));
  const lock = objectLockHeaders(call.bucket, headers);
  const { etag, versionId, checksums } = await services.objects
    .put(
      { bucket: target.bucket, key, owner, acl: grants, tags, headers: storedHeaders(headers), userMetadata: meta, ...lock },
      { source: formFile(form, range), checksums: checksumFields(headers) },
    )
    .catch(async (e: unknown) => {
      if (e instanceof S3Error) throw e;
      // The file stream failed because the body did: the parser's verdict says why.
      throw await form.done.then(() => e, (reason: unknown) => reason);
    });
  const location = `${request.protocol}://${request.headers.host ?? ''}${target.rawPath.replace(/\/$/, '')}/${encodeURIComponent(key)}`;
  reply.header('etag', etag).header('location', location);
  if (versionId && versionId !== 'null') reply.header('x-amz-version-id', versionId);
  for (const [alg, value] of Object.entries(checksums)) reply.header(`x-amz-checksum-${alg.toLowerCase()}`, value);
  answer(reply, fields, { bucket: target.bucket, key, etag, location });
}

/** Who the form speaks for, the key it writes and the file sizes it allows, once its
 * signature and policy check out; nothing of the file has been read yet. */
async function admit(form: FormHead, services: Services, bucket: string, facts: RequestFacts): Promise<{ writer: string; key: string; range: SizeRange }> {
  const { fields } = form;
  const submittedKey = fields.get('key');
  if (submittedKey === undefined || submittedKey === '') throw missingField('key');
  const { credential, signatureVersion } = await authenticatePostForm(fields, services.identity, { sigv2: services.config.sigv2 });
  const policy = parsePostPolicy(fields.get('policy')!, Date.now());
  const key = submittedKey.replaceAll('${filename}', form.filename ?? '');
  checkKey(key);
  const allow = (action: string) => services.access.authorize({ caller: credential, action, bucket, key, facts: { ...facts, authType: 'POST', signatureVersion } });
  await allow('s3:PutObject');
  // A lock the form asks for needs the permission to set it, as with PutObject's headers.
  if (fields.has('x-amz-object-lock-mode')) await allow('s3:PutObjectRetention');
  if (fields.has('x-amz-object-lock-legal-hold')) await allow('s3:PutObjectLegalHold');
  const range = evaluatePostPolicy(policy, { bucket, key, fields });
  return { writer: credential.owner, key, range: { min: range.min, max: Math.min(range.max, MAX_POST_BYTES) } };
}

/**
 * The file as the object layer stores it: held to the policy's size range as it goes, and
 * ending only once the whole form has been parsed, so a body that breaks after the file
 * fails the upload before it commits. The layer takes a body whose size shows only at its
 * end (fields may follow the file).
 */
async function* formFile(form: FormHead, range: SizeRange): AsyncGenerator<Buffer> {
  yield* sizeChecked(form.file, range);
  await form.done;
}

/** Passes the file through, refusing it as soon as it outgrows the range (reporting the
 * bytes received by then), and at its end if it is short of it. */
async function* sizeChecked(file: AsyncIterable<Buffer>, range: SizeRange): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const piece of file) {
    size += piece.length;
    if (size > range.max) throw entityTooLarge(size, range.max);
    yield piece;
  }
  if (size < range.min) throw entityTooSmall(size, range.min);
}

/** The x-amz-checksum-* fields, as the headers PutObject would carry them. */
function checksumFields(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('x-amz-checksum-')));
}

/** success_action_redirect (303 to it, with bucket, key and etag), else success_action_status:
 * 200 or 201 (a PostResponse document), anything else 204. */
function answer(reply: BucketCall['reply'], fields: FormFields, o: { bucket: string; key: string; etag: string; location: string }): void {
  const redirect = redirectUrl(fields.get('success_action_redirect') ?? fields.get('redirect'));
  if (redirect) {
    redirect.searchParams.append('bucket', o.bucket);
    redirect.searchParams.append('key', o.key);
    redirect.searchParams.append('etag', o.etag);
    reply.code(303).header('location', redirect.toString()).send();
    return;
  }
  const status = fields.get('success_action_status');
  if (status === '201') {
    // Built by hand: S3 writes the ETag's quotes as they are, where an XML builder escapes them.
    const element = (name: string, text: string) => `<${name}>${escapeText(text)}</${name}>`;
    reply.code(201).type('application/xml').send(
      `<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>${element('Location', o.location)}${element('Bucket', o.bucket)}${element('Key', o.key)}${element('ETag', o.etag)}</PostResponse>`,
    );
  } else {
    reply.code(status === '200' ? 200 : 204).send();
  }
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An absolute http(s) URL, or undefined: S3 ignores a redirect it cannot use. */
function redirectUrl(value: string | undefined): URL | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Only multipart/form-data is a form upload (busboy refuses one without a boundary). */
function checkFormType(contentType: string | undefined): void {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: 'Bucket POST must be of the enclosure-type multipart/form-data',
    });
  }
}

/** S3 takes a form upload only with a Content-Length (411 otherwise). */
function requireLength(headers: IncomingHttpHeaders): void {
  if (headers['content-length'] === undefined) throw new S3Error('MissingContentLength');
}

/** The form fields as request headers, for the helpers PutObject uses (Content-Type,
 * Cache-Control, …, x-amz-meta-*). */
function fieldHeaders(fields: FormFields): IncomingHttpHeaders {
  return Object.fromEntries(fields);
}

/** The `tagging` field: a Tagging document, held to PutObjectTagging's rules. */
function formTags(xml: string | undefined): Tags {
  if (xml === undefined) return {};
  const tagging = parseXml(xml).Tagging;
  if (typeof tagging !== 'object' || tagging === null || !('TagSet' in tagging)) throw new S3Error('MalformedXML');
  const tagSet = (tagging as { TagSet: unknown }).TagSet;
  if (tagSet === '') return {};
  const tag = (tagSet as { Tag?: unknown } | null)?.Tag;
  const entries = xmlList(tag).map((t): [string, string] => {
    const { Key: k, Value: v } = (t ?? {}) as { Key?: unknown; Value?: unknown };
    if (typeof k !== 'string' || typeof v !== 'string') throw new S3Error('MalformedXML');
    return [k, v];
  });
  if (new Set(entries.map(([k]) => k)).size !== entries.length) throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key');
  // The tag checks live with x-amz-tagging's parser; hand it the same tags in its syntax.
  return parseTaggingHeader(entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
}

interface FormHead {
  /** The fields before the file, names lower-cased. */
  fields: Map<string, string>;
  file: BusboyFileStream;
  filename?: string;
  /** Settles once the whole body has been parsed (after the file has been read). */
  done: Promise<void>;
}

/**
 * Parses the form up to the start of the file: resolves with the fields and the file stream,
 * not yet read. At most 20 KiB of fields may precede the file; fields after it are ignored,
 * as on S3.
 */
function readFormHead(raw: IncomingMessage, headers: IncomingHttpHeaders): Promise<FormHead> {
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({
      headers: headers as BusboyHeaders,
      isPartAFile: (name) => name?.toLowerCase() === 'file',
      limits: { fieldSize: MAX_PRE_DATA, fieldNameSize: MAX_PRE_DATA },
    });
  } catch {
    return Promise.reject(new S3Error('MalformedPOSTRequest'));
  }
  const done = pipeline(raw, parser).catch((e: unknown) => {
    throw parseError(e, raw);
  });
  return new Promise((resolve, reject) => {
    const fields = new Map<string, string>();
    let preData = 0;
    let settled = false;
    const fail = (e: S3Error) => {
      settled = true;
      reject(e);
    };
    parser.on('field', (name: string, value: string, nameTruncated: boolean, valueTruncated: boolean) => {
      if (settled) return;
      preData += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (nameTruncated || valueTruncated || preData > MAX_PRE_DATA) fail(new S3Error('MaxPostPreDataLengthExceeded'));
      else fields.set(name.toLowerCase(), value);
    });
    parser.on('file', (_name: string, stream: BusboyFileStream, filename: string | undefined) => {
      // Failures reach the reader through its iterator and `done`; an 'error' nobody listens
      // for would crash the process.
      stream.on('error', () => {});
      if (settled) {
        stream.resume();
        return;
      }
      settled = true;
      // A body that ends early must end the file's reader too, not leave it waiting.
      done.catch((e: unknown) => stream.destroy(e as Error));
      resolve({ fields, file: stream, filename, done });
    });
    done.then(() => {
      if (!settled) fail(new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.', { ArgumentName: 'file', ArgumentValue: '0' }));
    }, reject);
  });
}

function aborted(raw: IncomingMessage): boolean {
  return raw.readableAborted || (raw.destroyed && !raw.complete);
}

/** A parser failure is the form's fault, unless the client went away. */
function parseError(e: unknown, raw: IncomingMessage): S3Error {
  if (e instanceof S3Error) return e;
  return new S3Error(aborted(raw) ? 'IncompleteBody' : 'MalformedPOSTRequest');
}
