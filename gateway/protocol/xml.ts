import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { S3Error } from './errors';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
// A carriage return must be escaped: XML parsers normalise a raw one to a newline, and a
// key holding one would come back changed.
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  suppressEmptyNode: false,
  processEntities: true,
  entities: [
    { regex: /&/g, val: '&amp;' },
    { regex: />/g, val: '&gt;' },
    { regex: /</g, val: '&lt;' },
    { regex: /'/g, val: '&apos;' },
    { regex: /"/g, val: '&quot;' },
    { regex: /\r/g, val: '&#13;' },
  ],
} as ConstructorParameters<typeof XMLBuilder>[0]);

/** An S3 XML document: `<?xml …?><Root xmlns="…">body</Root>`. Arrays repeat the element. */
export function xmlDocument(root: string, body: Record<string, unknown>, namespace = true): string {
  const content = namespace ? { '@xmlns': NS, ...body } : body;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: content })}`;
}

// htmlEntities: numeric character references too (Go's encoder writes a quote as &#34;).
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true, htmlEntities: true });

/** Parses a small request body; anything that is not well-formed XML is MalformedXML, and so
 * is a NUL (XML 1.0 has no such character, raw or as `&#0;`, and PostgreSQL cannot store it). */
export function parseXml(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch {
    throw new S3Error('MalformedXML');
  }
  // The parser drops a reference to NUL (`&#0;`) silently: refused too, as XML 1.0 does.
  if (typeof doc !== 'object' || doc === null || /\0|&#(?:0+|x0+);/i.test(text) || hasNul(doc)) throw new S3Error('MalformedXML');
  return doc as Record<string, unknown>;
}

function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([k, v]) => k.includes('\0') || hasNul(v));
}

/** S3 timestamps: ISO 8601 with milliseconds, UTC. */
export function isoDate(d: Date): string {
  return d.toISOString();
}
