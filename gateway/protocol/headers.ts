/** A request header's value; Node gives an array for the few headers it lets repeat, and
 * S3 takes the first. */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Node hands header values over latin1-decoded: one char per byte as sent, so UTF-8 metadata
 * (`x-amz-meta-name: café` from boto3) arrives as `cafÃ©`. Canonical requests and SigV2
 * strings to sign are built from such byte strings and hashed as latin1, i.e. over the bytes
 * as sent. A value with a char above U+00FF cannot have come off the wire (a caller built it):
 * it stands for its UTF-8 bytes.
 */
export function byteString(value: string): string {
  return /[^\x00-\xff]/.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}

/** The text a byte string stands for (UTF-8), for error bodies and logs. */
export function bytesText(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
