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

/** Parses a small request body; anything that is not well-formed XML is MalformedXML. */
export function parseXml(text: string): Record<string, unknown> {
  try {
    const doc = parser.parse(text, true);
    if (typeof doc !== 'object' || doc === null) throw new Error('not a document');
    return doc as Record<string, unknown>;
  } catch {
    throw new S3Error('MalformedXML');
  }
}

/** S3 timestamps: ISO 8601 with milliseconds, UTC. */
export function isoDate(d: Date): string {
  return d.toISOString();
}
