import { canonicalQuery } from './canonical-request';
import { awsUriEncode, canonicalUri, parseQuery, percentDecode } from './uri-encoding';

describe('canonicalUri', () => {
  it.each([
    ['/', '/'],
    ['', '/'],
    ['/bucket/key', '/bucket/key'],
    ['/bucket/a%20b', '/bucket/a%20b'],
    ['/bucket/a+b', '/bucket/a%2Bb'], // '+' in a path is a plus
    ['/bucket/a%2bb', '/bucket/a%2Bb'], // hex case normalised
    ["/bucket/!*'()", '/bucket/%21%2A%27%28%29'],
    ['/bucket/%7E~', '/bucket/~~'],
    ['/bucket/%C3%BC/%e4%b8%ad', '/bucket/%C3%BC/%E4%B8%AD'],
    ['/bucket/100%25/100%', '/bucket/100%25/100%25'], // a stray % is a literal %
    ['/bucket//a//b/', '/bucket//a//b/'], // no slash collapsing
    ['/bucket/./../x', '/bucket/./../x'], // no dot-segment removal
    ['/bucket/a%2Fb', '/bucket/a/b'], // an encoded slash is a slash
    ['/bucket/ü', '/bucket/%C3%BC'],
  ])('%s → %s', (raw, canonical) => {
    expect(canonicalUri(raw)).toBe(canonical);
  });
});

describe('percentDecode / awsUriEncode', () => {
  it('round-trips every byte', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const encoded = awsUriEncode(all, false);
    expect(encoded).not.toContain('/');
    expect(percentDecode(encoded, false)).toEqual(all);
    expect(awsUriEncode(Buffer.from('a/b'), true)).toBe('a/b');
    expect(awsUriEncode(Buffer.from('a/b'), false)).toBe('a%2Fb');
  });
  it('reads + as a space only in queries', () => {
    expect(percentDecode('a+b', true).toString()).toBe('a b');
    expect(percentDecode('a+b', false).toString()).toBe('a+b');
  });
});

describe('canonical query', () => {
  const canonical = (raw: string, omit?: string) => canonicalQuery(parseQuery(raw), omit);
  it.each([
    ['', ''],
    ['uploads', 'uploads='],
    ['uploads=', 'uploads='],
    ['prefix=J&max-keys=2', 'max-keys=2&prefix=J'],
    ['a=2&a=1&b=', 'a=1&a=2&b='],
    ['prefix=a/b', 'prefix=a%2Fb'],
    ['prefix=a%2fb', 'prefix=a%2Fb'],
    ['prefix=a+b', 'prefix=a%20b'],
    ['prefix=a%2Bb', 'prefix=a%2Bb'],
    ["k=!*'()~", 'k=%21%2A%27%28%29~'],
    ['&&x=1&', 'x=1'],
    ['list-type=2&prefix=%E4%B8%AD&delimiter=%2F', 'delimiter=%2F&list-type=2&prefix=%E4%B8%AD'],
  ])('%j → %j', (raw, expected) => {
    expect(canonical(raw)).toBe(expected);
  });
  it('sorts by encoded name with byte order (uppercase before lowercase)', () => {
    expect(canonical('b=1&B=2&_=3&a=4')).toBe('B=2&_=3&a=4&b=1');
  });
  it('leaves out only the named parameter', () => {
    expect(canonical('X-Amz-Signature=abc&x-amz-signature=d&z=1', 'X-Amz-Signature')).toBe('x-amz-signature=d&z=1');
  });
  it('decodes names and values for lookups', () => {
    expect(parseQuery('X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&p=a+b')).toEqual([
      {
        name: 'X-Amz-Credential',
        value: 'AK/20130524/us-east-1/s3/aws4_request',
        encodedName: 'X-Amz-Credential',
        encodedValue: 'AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request',
      },
      { name: 'p', value: 'a b', encodedName: 'p', encodedValue: 'a%20b' },
    ]);
  });
});
