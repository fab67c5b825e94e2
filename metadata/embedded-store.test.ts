import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeMetadataStore } from './store.contract';
import { openMetadata } from './open';

let dir: string;
afterAll(() => rm(dir, { recursive: true, force: true }));

describeMetadataStore('embedded PostgreSQL supervised by rfs (the default)', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rfs-meta-'));
  await chmod(dir, 0o755); // as root, PostgreSQL runs as another account and must reach it
  return openMetadata({ metaDir: path.join(dir, 'meta') });
});
