import { S3Error } from './errors';

/** For tests: the S3Error a promise rejects with (any other outcome fails the test). */
export async function s3Failure(p: Promise<unknown>): Promise<S3Error> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3Error) return e;
    throw e;
  }
  throw new Error('expected an S3Error');
}
