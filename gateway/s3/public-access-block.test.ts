import { s3Failure } from '../protocol/errors.testing';
import { deletePublicAccessBlock, getPublicAccessBlock, putPublicAccessBlock } from './public-access-block';
import { fakeCall, newWorld } from './bucket-call.testing';

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const conf = (inner: string) => `<PublicAccessBlockConfiguration ${NS}>${inner}</PublicAccessBlockConfiguration>`;

describe('Put/Get/DeletePublicAccessBlock', () => {
  test('round trip: the four settings in S3\'s order; one left out is false', async () => {
    const world = newWorld();
    const put = fakeCall(world, { body: conf('<RestrictPublicBuckets>true</RestrictPublicBuckets><BlockPublicAcls>true</BlockPublicAcls>') });
    await putPublicAccessBlock(put.call);
    expect(put.sent.status).toBe(200);
    expect(world.bucket.publicAccessBlock).toEqual({ blockPublicAcls: true, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: true });
    const { call, sent } = fakeCall(world);
    await getPublicAccessBlock(call);
    expect(sent.type).toBe('application/xml');
    expect(sent.body).toBe(
      `<?xml version="1.0" encoding="UTF-8"?>\n${conf(
        '<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls><BlockPublicPolicy>false</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>',
      )}`,
    );
  });

  test('an empty configuration blocks nothing; 1 and 0 are booleans too', async () => {
    const world = newWorld();
    await putPublicAccessBlock(fakeCall(world, { body: '<PublicAccessBlockConfiguration/>' }).call);
    expect(world.bucket.publicAccessBlock).toEqual({ blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false });
    await putPublicAccessBlock(fakeCall(world, { body: conf('<IgnorePublicAcls>1</IgnorePublicAcls><BlockPublicPolicy> 0 </BlockPublicPolicy>') }).call);
    expect(world.bucket.publicAccessBlock).toMatchObject({ ignorePublicAcls: true, blockPublicPolicy: false });
  });

  test('none set: NoSuchPublicAccessBlockConfiguration; delete is idempotent', async () => {
    const world = newWorld({ publicAccessBlock: { blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true } });
    for (let i = 0; i < 2; i++) {
      const { call, sent } = fakeCall(world);
      await deletePublicAccessBlock(call);
      expect(sent.status).toBe(204);
    }
    expect(world.bucket.publicAccessBlock).toBeUndefined();
    expect(await s3Failure(getPublicAccessBlock(fakeCall(world).call))).toMatchObject({
      code: 'NoSuchPublicAccessBlockConfiguration', status: 404, fields: { BucketName: 'bkt' },
    });
  });

  test.each([
    ['empty body', ''],
    ['not XML', '<PublicAccessBlockConfiguration>'],
    ['another root', '<PublicAccessBlock><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlock>'],
    ['unknown element', conf('<BlockEverything>true</BlockEverything>')],
    ['not a boolean', conf('<BlockPublicAcls>yes</BlockPublicAcls>')],
    ['empty value', conf('<BlockPublicAcls></BlockPublicAcls>')],
    ['given twice', conf('<BlockPublicAcls>true</BlockPublicAcls><BlockPublicAcls>true</BlockPublicAcls>')],
    ['text instead of elements', '<PublicAccessBlockConfiguration>true</PublicAccessBlockConfiguration>'],
  ])('%s: MalformedXML, nothing stored', async (_what, body) => {
    const world = newWorld();
    expect((await s3Failure(putPublicAccessBlock(fakeCall(world, { body }).call))).code).toBe('MalformedXML');
    expect(world.patches).toEqual([]);
  });
});
