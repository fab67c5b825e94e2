import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeMetadataStore } from './store.contract';
import { WorkerMetadataStore } from './worker-store';

let dir: string;
afterAll(() => rm(dir, { recursive: true, force: true }));

describeMetadataStore('PGlite in a worker thread (embedded default)', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rfs-meta-'));
  return WorkerMetadataStore.open(dir);
});
