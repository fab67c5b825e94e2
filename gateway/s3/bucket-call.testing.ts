import type { Bucket, BucketPatch, Grant, ObjectVersion, User } from '../../metadata/store';
import { MetadataError } from '../../metadata/store';
import type { Credential } from '../auth/identity';
import type { BucketCall } from '../services';

/**
 * For handler tests: a BucketCall over an in-memory world (one bucket's settings, its object
 * versions, the users), with a reply that records what was sent. Only what the access
 * handlers touch is there.
 */
export interface World {
  bucket: Bucket;
  /** By key; each key's current version. */
  objects: Map<string, ObjectVersion>;
  users: Map<string, User>;
  /** Every BucketPatch stored, in order. */
  patches: BucketPatch[];
  /** What `services.iam.compiled` does with a policy text. */
  compile(text: string): { isPublic: boolean };
}

export interface Sent {
  status: number;
  headers: Record<string, string>;
  type?: string;
  body?: unknown;
}

export const OWNER = '1'.repeat(64);
export const OTHER = '2'.repeat(64);
export const THIRD = '3'.repeat(64);

export const ownerCaller: Credential = { accessKeyId: 'AKOWNER', secretKey: 's', owner: OWNER, displayName: 'owner-name', user: 'owner-name' };
export const otherCaller: Credential = { accessKeyId: 'AKOTHER', secretKey: 's', owner: OTHER, displayName: 'other-name', user: 'other-name' };

export function newWorld(bucket: Partial<Bucket> = {}): World {
  const user = (name: string, id: string): User => ({
    name, id, userId: `AIDA${name}`, source: 'local', policies: [], disabled: false, sessionsValidAfter: new Date(0), createdAt: new Date(0),
  });
  return {
    bucket: { name: 'bkt', owner: OWNER, region: 'us-east-1', createdAt: new Date(0), ...bucket },
    objects: new Map(),
    users: new Map([[OWNER, user('owner-name', OWNER)], [OTHER, user('other-name', OTHER)], [THIRD, user('third-name', THIRD)]]),
    patches: [],
    compile: () => ({ isPublic: false }),
  };
}

export function putVersion(world: World, key: string, fields: Partial<ObjectVersion> = {}): ObjectVersion {
  const object: ObjectVersion = {
    bucket: world.bucket.name, key, id: `id-${key}`, versionId: 'null', isLatest: true, deleteMarker: false, size: 1, etag: '"e"',
    lastModified: new Date(0), owner: OWNER, headers: {}, userMetadata: {}, checksums: {}, tags: {}, ...fields,
  };
  world.objects.set(key, object);
  return object;
}

export interface CallOptions {
  caller?: Credential;
  key?: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export function fakeCall(world: World, { caller = ownerCaller, key = '', query = '', headers = {}, body = '' }: CallOptions = {}): { call: BucketCall; sent: Sent } {
  const sent: Sent = { status: 200, headers: {} };
  const reply = {
    code(status: number) { sent.status = status; return reply; },
    header(name: string, value: string) { sent.headers[name] = value; return reply; },
    headers(h: Record<string, string>) { Object.assign(sent.headers, h); return reply; },
    type(t: string) { sent.type = t; return reply; },
    send(b?: unknown) { sent.body = b; return reply; },
  };
  const apply = (patch: BucketPatch) => {
    world.patches.push(patch);
    const b = world.bucket as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete b[k];
      else if (v !== undefined) b[k] = v;
    }
  };
  const meta = {
    async getObject(_bucket: string, k: string, versionId?: string): Promise<ObjectVersion> {
      const o = world.objects.get(k);
      if (!o) throw new MetadataError('NoSuchKey');
      if (versionId !== undefined && versionId !== o.versionId) throw new MetadataError('NoSuchVersion');
      return o;
    },
    async putObjectAcl(_bucket: string, k: string, versionId: string | undefined, acl: Grant[]): Promise<string> {
      const o = await meta.getObject(_bucket, k, versionId);
      if (o.deleteMarker) throw new MetadataError('MethodNotAllowed');
      o.acl = acl;
      return o.versionId;
    },
    iam: { getUserById: async (id: string) => world.users.get(id) },
  };
  const services = {
    meta,
    buckets: {
      get: async (name: string) => (name === world.bucket.name ? { ...world.bucket } : undefined),
      update: async (_name: string, patch: BucketPatch) => apply(patch),
      forget: () => undefined,
    },
    iam: { compiled: (text: string) => world.compile(text) },
  };
  const chunks = [typeof body === 'string' ? Buffer.from(body) : body];
  const call = {
    services,
    target: { bucket: world.bucket.name, key, query: new URLSearchParams(query) },
    caller,
    bucket: { ...world.bucket },
    payload: { mode: 'unsigned' },
    request: { headers, raw: (async function* () { yield* chunks; })() },
    reply,
  };
  return { call: call as unknown as BucketCall, sent };
}
