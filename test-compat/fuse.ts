import { spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findBinary, runCommand } from './clients';

/**
 * FUSE for the mount suites (s3fs, rclone mount). FUSE is a kernel feature, not a client:
 * when this sandbox cannot mount, the mount tests are skipped loudly with the reason, even
 * under CI=true (a missing client still fails there, through clientGate).
 */
export interface FuseProbe {
  ok: boolean;
  reason?: string;
  /** fusermount or fusermount3, whichever is installed. */
  fusermount?: string;
}

/**
 * /dev/fuse opens, fusermount runs, and (when rclone is installed) a trial mount of a local
 * directory shows up in /proc/mounts and unmounts: the kernel side works end to end.
 */
export function fuseProbe(): FuseProbe {
  try {
    closeSync(openSync('/dev/fuse', 'r+'));
  } catch (e) {
    return { ok: false, reason: `/dev/fuse cannot be opened (${(e as Error).message})` };
  }
  const fusermount = findBinary('fusermount3') ?? findBinary('fusermount');
  if (!fusermount) return { ok: false, reason: 'neither fusermount3 nor fusermount is on PATH (apt-get install fuse3)' };
  const v = spawnSync(fusermount, ['-V'], { encoding: 'utf8', timeout: 30_000 });
  if (v.error || v.status !== 0) return { ok: false, reason: `${fusermount} -V failed: ${v.error?.message ?? v.stderr}` };
  const rclone = findBinary('rclone');
  if (rclone) {
    const trial = trialMount(rclone, fusermount);
    if (trial) return { ok: false, reason: trial, fusermount };
  }
  return { ok: true, fusermount };
}

/** Mounts an empty local dir with `rclone mount --daemon`; undefined when it worked. */
function trialMount(rclone: string, fusermount: string): string | undefined {
  const root = mkdtempSync(path.join(tmpdir(), 'rfs-fuse-probe-'));
  const src = path.join(root, 'src');
  const mnt = path.join(root, 'mnt');
  mkdirSync(src);
  mkdirSync(mnt);
  writeFileSync(path.join(src, 'probe'), 'fuse');
  try {
    const r = spawnSync(rclone, ['mount', src, mnt, '--config', '/dev/null', '--daemon', '--daemon-wait', '20s'], { encoding: 'utf8', timeout: 60_000 });
    if (r.error || r.status !== 0) return `a trial FUSE mount failed: rclone mount exited ${r.status ?? r.error?.message}: ${(r.stderr ?? '').trim().slice(0, 500)}`;
    if (!isMounted(mnt)) return 'a trial FUSE mount did not appear in /proc/mounts';
    const seen = readFileSync(path.join(mnt, 'probe'), 'utf8');
    return seen === 'fuse' ? undefined : `a trial FUSE mount read ${JSON.stringify(seen)}`;
  } catch (e) {
    return `a trial FUSE mount failed: ${(e as Error).message}`;
  } finally {
    if (isMounted(mnt)) spawnSync(fusermount, ['-u', mnt], { timeout: 30_000 });
    if (!isMounted(mnt)) rmSync(root, { recursive: true, force: true });
  }
}

/** Whether `dir` is a mount point now (/proc/mounts escapes spaces as \040). */
export function isMounted(dir: string): boolean {
  const target = path.resolve(dir).replace(/ /g, '\\040');
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === target);
}

/** Resolves once `dir` is mounted; rejects if `child` exits first or after `timeoutMs`. */
export async function waitForMount(dir: string, child: ChildProcess, log: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!isMounted(dir)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the FUSE client exited (${child.exitCode ?? child.signalCode}) before mounting ${dir}:\n${log()}`);
    if (Date.now() > deadline) throw new Error(`${dir} was not mounted after ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Unmounts `dir` and waits for the client process to end: fusermount -u, then a lazy
 * unmount if the mount is busy, then SIGTERM/SIGKILL to that one process if it lingers.
 * Safe to call when nothing is mounted (afterAll after a failed mount).
 */
export async function unmount(fusermount: string, dir: string, child?: ChildProcess): Promise<void> {
  if (isMounted(dir)) {
    const r = await runCommand(fusermount, ['-u', dir], { timeoutMs: 30_000 });
    if (r.code !== 0 && isMounted(dir)) await runCommand(fusermount, ['-u', '-z', dir], { timeoutMs: 30_000 });
  }
  if (!child) return;
  await new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const term = setTimeout(() => child.kill('SIGTERM'), 10_000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve();
    });
  });
}
