import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { IamStore } from '../../metadata/store';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_FILE = 'master.key';
const CANARY = 'rfs master key check';
const CANARY_CONTEXT = 'rfs:iam_key_check';
const NOT_OPEN = 'sealed value does not open with this master key';

/**
 * Seals the secrets the metadata store keeps (access key secrets) with a master key the
 * database never sees: AES-256-GCM, a random IV per value, and a context (say, the access
 * key id) as additional authenticated data, so a sealed value copied into another row does
 * not open there. The key comes from RFS_MASTER_KEY, or else `<data>/master.key`, made once.
 * Every gateway of one database needs the same key; `verifyWith` checks that at start. The
 * key is held in a private field and never put into an error or a log line.
 */
export class SecretBox {
  readonly #key: Buffer;

  private constructor(key: Buffer, readonly source: string) {
    this.#key = key;
  }

  /** `masterKey` is RFS_MASTER_KEY (32 bytes: 64 hex digits or base64). Unset: the key file
   * in `dataDir`, created with mode 0600 if there is none; one others can read is refused. */
  static load(options: { masterKey?: string; dataDir: string }): SecretBox {
    if (options.masterKey !== undefined && options.masterKey !== '') {
      const key = parseKey(options.masterKey);
      if (!key) throw new Error('RFS_MASTER_KEY must be 32 bytes, written as 64 hex digits or as base64 (openssl rand -base64 32)');
      return new SecretBox(key, 'RFS_MASTER_KEY');
    }
    const file = path.join(options.dataDir, KEY_FILE);
    return new SecretBox(readKeyFile(file) ?? createKeyFile(file), file);
  }

  /** `v1.<base64url of IV, tag and ciphertext>`. */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** Throws the same plain Error whatever went wrong (another key, another context, a
   * damaged value), so nothing about the key leaks through the message. */
  unseal(sealed: string, context: string): string {
    const [version, data, extra] = sealed.split('.');
    const raw = Buffer.from(data ?? '', 'base64url');
    if (version !== VERSION || extra !== undefined || raw.length < IV_BYTES + TAG_BYTES) throw new Error(NOT_OPEN);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(NOT_OPEN);
    }
  }

  /** Refuses to start on a database whose secrets were sealed with another key: without
   * this, every stored key would merely fail to authenticate, one request at a time. */
  async verifyWith(iam: IamStore): Promise<void> {
    const stored = await iam.keyCheck(this.seal(CANARY, CANARY_CONTEXT));
    let opened: string | undefined;
    try {
      opened = this.unseal(stored, CANARY_CONTEXT);
    } catch {
      opened = undefined;
    }
    if (opened !== CANARY) {
      throw new Error(
        `this gateway's master key (from ${this.source}) differs from the one the metadata database was written with: ` +
          'every gateway of one database needs the same RFS_MASTER_KEY (or the same master.key file)',
      );
    }
  }
}

/** 64 hex digits, or base64 / base64url of exactly 32 bytes; undefined for anything else. */
function parseKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const key = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
    if (key.length === 32) return key;
  }
  return undefined;
}

/** The key file's key, or undefined when there is no file yet. */
function readKeyFile(file: string): Buffer | undefined {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new Error(`${file} is open to other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
  }
  const key = parseKey(readFileSync(file, 'utf8'));
  if (!key) throw new Error(`${file} does not hold a 32-byte master key (64 hex digits or base64)`);
  return key;
}

/**
 * Makes the key file: a temp file of our own (`wx`, 0600, fsynced) is linked to the final
 * name, which fails if it exists. Unlike rename, link never replaces a file, so of gateways
 * starting at once on one data dir the first one's key wins and the others read it.
 */
function createKeyFile(file: string): Buffer {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const key = randomBytes(32);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${key.toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let made = false;
  try {
    linkSync(temp, file);
    made = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(temp);
  }
  if (!made) return readKeyFile(file) ?? createKeyFile(file); // another start made it first
  syncDir(path.dirname(file));
  return key;
}

/** Makes the new name durable; some platforms cannot fsync a directory, which is no error. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort
  }
}
