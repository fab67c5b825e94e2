import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SecretBox } from './secret-box';
import type { IamStore } from '../../metadata/store';

const HEX_KEY = 'ab'.repeat(32);
const BASE64_KEY = Buffer.alloc(32, 7).toString('base64');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rfs-secret-box-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('SecretBox_roundTrip: a sealed secret opens with its context, in a compact versioned form', () => {
  const box = SecretBox.load({ masterKey: HEX_KEY, dataDir: dir });
  const sealed = box.seal('wJalrXUtnFEMI/K7MDENG', 'AKIAEXAMPLE');
  expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
  expect(sealed).not.toContain('wJalrXUtnFEMI');
  expect(box.unseal(sealed, 'AKIAEXAMPLE')).toBe('wJalrXUtnFEMI/K7MDENG');
  expect(box.seal('same', 'c')).not.toBe(box.seal('same', 'c')); // a random IV each time
  expect(SecretBox.load({ masterKey: BASE64_KEY, dataDir: dir }).unseal(SecretBox.load({ masterKey: BASE64_KEY, dataDir: dir }).seal('x', 'c'), 'c')).toBe('x');
});

test('SecretBox_wrongContext: a value moved to another row does not open', () => {
  const box = SecretBox.load({ masterKey: HEX_KEY, dataDir: dir });
  expect(() => box.unseal(box.seal('secret', 'AKIA1'), 'AKIA2')).toThrow('sealed value does not open with this master key');
});

test('SecretBox_tampered: any changed byte, a cut value or a foreign format is refused', () => {
  const box = SecretBox.load({ masterKey: HEX_KEY, dataDir: dir });
  const sealed = box.seal('secret', 'c');
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  for (const i of [0, 12, 28, raw.length - 1]) {
    const bad = Buffer.from(raw);
    bad[i] ^= 1;
    expect(() => box.unseal(`v1.${bad.toString('base64url')}`, 'c')).toThrow('sealed value does not open with this master key');
  }
  for (const bad of [sealed.slice(0, 20), `v2.${sealed.slice(3)}`, 'plain-secret', '', `${sealed}.x`]) {
    expect(() => box.unseal(bad, 'c')).toThrow('sealed value does not open with this master key');
  }
});

test('SecretBox_wrongKey: another master key does not open it, and the error names no key', () => {
  const sealed = SecretBox.load({ masterKey: HEX_KEY, dataDir: dir }).seal('secret', 'c');
  const other = SecretBox.load({ masterKey: 'cd'.repeat(32), dataDir: dir });
  expect(() => other.unseal(sealed, 'c')).toThrow(new Error('sealed value does not open with this master key'));
  expect(JSON.stringify(other)).not.toContain('cd'.repeat(4));
});

test('SecretBox_keyFile: made once with mode 0600, the same key on the next start', () => {
  const box = SecretBox.load({ dataDir: dir });
  const file = path.join(dir, 'master.key');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(readFileSync(file, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
  expect(SecretBox.load({ dataDir: dir }).unseal(box.seal('s', 'c'), 'c')).toBe('s');
  expect(SecretBox.load({ dataDir: path.join(dir, 'new', 'data') }).seal('s', 'c')).toMatch(/^v1\./); // a data dir not made yet
});

test('SecretBox_keyFileTooOpen: a key file others can read is refused, naming the chmod', () => {
  const file = path.join(dir, 'master.key');
  writeFileSync(file, `${HEX_KEY}\n`);
  chmodSync(file, 0o644);
  expect(() => SecretBox.load({ dataDir: dir })).toThrow(`run: chmod 600 ${file}`);
  chmodSync(file, 0o600);
  expect(() => SecretBox.load({ dataDir: dir })).not.toThrow();
  writeFileSync(file, 'not a key\n');
  expect(() => SecretBox.load({ dataDir: dir })).toThrow(/does not hold a 32-byte master key/);
});

test('SecretBox_badMasterKey: RFS_MASTER_KEY of the wrong length or alphabet is refused, without echoing it', () => {
  for (const bad of ['ab'.repeat(31), 'ab'.repeat(33), 'zz'.repeat(32), Buffer.alloc(16).toString('base64'), 'hunter2']) {
    let message = '';
    try {
      SecretBox.load({ masterKey: bad, dataDir: dir });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('RFS_MASTER_KEY');
    expect(message).not.toContain(bad);
  }
});

test('SecretBox_concurrentLoads: gateways starting at once on one data dir agree on one key file', async () => {
  const start = Date.now() + 1500;
  const script = `const { SecretBox } = require(${JSON.stringify(path.join(__dirname, 'secret-box.ts'))});
    while (Date.now() < ${start}) {}
    process.stdout.write(SecretBox.load({ dataDir: ${JSON.stringify(dir)} }).seal('agreed', 'c'));`;
  const sealed = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
      return out;
    }),
  );
  const box = SecretBox.load({ dataDir: dir });
  for (const s of sealed) expect(box.unseal(s, 'c')).toBe('agreed');
  expect(statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
});

test('SecretBox_verifyWith: the first gateway writes the check, the same key passes, another key is refused', async () => {
  let stored: string | undefined;
  const iam = { keyCheck: async (sealed: string) => (stored ??= sealed) } as unknown as IamStore;
  await SecretBox.load({ masterKey: HEX_KEY, dataDir: dir }).verifyWith(iam);
  await SecretBox.load({ masterKey: HEX_KEY, dataDir: dir }).verifyWith(iam);
  const wrong = SecretBox.load({ masterKey: 'cd'.repeat(32), dataDir: dir }).verifyWith(iam);
  await expect(wrong).rejects.toThrow(/master key .* differs .* every gateway of one database needs the same RFS_MASTER_KEY/);
  await expect(wrong).rejects.not.toThrow(/cdcd/);
});
