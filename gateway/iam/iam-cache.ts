import type { ChangeBus } from '../../metadata/change-bus';
import type { IamStore, StoredKey, User } from '../../metadata/store';
import { parsePolicy } from './policy';
import type { CompiledPolicy } from './policy-types';

const IAM_TOPIC = 'iam';
/** Bounds how stale an entry can get when a change announcement is lost. */
const TTL_MS = 5000;
/** Compiled policies kept, by text: every bucket policy and named policy in use fits. */
const MAX_COMPILED = 2048;
/** Users and keys kept: lookups of unknown keys are cached too, so the map is bounded. */
const MAX_ENTRIES = 10_000;

type Entry<T> = { value: T; until: number };

/**
 * Users, keys and named policies as every request needs them, cached briefly: a request
 * must not cost a database read for its caller. A change made through any gateway is
 * announced on the change bus (`iamChanged`), so disabling a user or a key, or editing a
 * policy, takes effect on every gateway at once; the TTL only bounds a lost announcement.
 * Policies are compiled once per text and kept compiled.
 */
export class IamCache {
  private readonly users = new Map<string, Entry<User | undefined>>();
  private readonly keys = new Map<string, Entry<StoredKey | undefined>>();
  private readonly policies = new Map<string, Entry<CompiledPolicy | undefined>>();
  /** Compiled policies by kind and bucket, then by text. */
  private readonly compiledByText = new Map<string, Map<string, CompiledPolicy>>();
  private compiledCount = 0;

  constructor(private readonly iam: IamStore, private readonly bus: ChangeBus) {
    bus.subscribe(IAM_TOPIC, () => this.clear());
    bus.onResync(() => this.clear());
  }

  user(name: string): Promise<User | undefined> {
    return this.cached(this.users, name, () => this.iam.getUser(name));
  }

  key(accessKeyId: string): Promise<StoredKey | undefined> {
    return this.cached(this.keys, accessKeyId, () => this.iam.getKey(accessKeyId));
  }

  /** A named policy, compiled; undefined when it does not exist (a dangling name grants nothing). */
  policy(name: string): Promise<CompiledPolicy | undefined> {
    return this.cached(this.policies, name, async () => {
      const stored = await this.iam.getPolicy(name);
      return stored && this.compiled(stored.document, 'identity');
    });
  }

  /** A policy text compiled once: bucket policies and sessions' inline policies. Looked up by
   * the text itself: a cached bucket's policy is the same string on every request, whose
   * hash V8 keeps, so a hit neither copies nor rehashes a policy of many kilobytes. */
  compiled(text: string, kind: 'identity' | 'resource', bucket?: string): CompiledPolicy {
    const scope = `${kind}:${bucket ?? ''}`;
    let texts = this.compiledByText.get(scope);
    let policy = texts?.get(text);
    if (!policy) {
      if (this.compiledCount >= MAX_COMPILED) {
        this.compiledByText.clear();
        this.compiledCount = 0;
        texts = undefined;
      }
      policy = parsePolicy(text, kind, { bucket });
      if (!texts) this.compiledByText.set(scope, (texts = new Map()));
      texts.set(text, policy);
      this.compiledCount++;
    }
    return policy;
  }

  /** Tells every gateway (this one first) that users, keys or policies changed. */
  async iamChanged(): Promise<void> {
    this.clear();
    await this.bus.publish(IAM_TOPIC, 'changed');
  }

  private clear(): void {
    this.users.clear();
    this.keys.clear();
    this.policies.clear();
  }

  private async cached<T>(map: Map<string, Entry<T>>, id: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(id);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = await load();
    if (map.size >= MAX_ENTRIES) map.clear();
    map.set(id, { value, until: Date.now() + TTL_MS });
    return value;
  }
}
