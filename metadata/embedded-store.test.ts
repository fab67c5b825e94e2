import { rm } from 'node:fs/promises';
import { tempDataDir } from './temp-dir.testing';
import path from 'node:path';
import { describeMetadataStore } from './store.contract';
import { openMetadata } from './open';

let dir: string;
afterAll(() => rm(dir, { recursive: true, force: true }));

describeMetadataStore('embedded PostgreSQL supervised by rfs (the default)', async () => {
  dir = await tempDataDir('meta');
  return openMetadata({ metaDir: path.join(dir, 'meta') });
});
