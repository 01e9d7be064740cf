// XML in and out of the S3 endpoint: request documents (DeleteObjects, CompleteMultipartUpload) are parsed with
// fast-xml-parser after validation; responses are small fixed shapes, written as escaped text.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './s3-errors.ts';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `<name>escaped value</name>` for each defined value. */
export function el(name: string, value: string | number | boolean | undefined | null): string {
  if (value === undefined || value === null) return '';
  return `<${name}>${xmlEscape(String(value))}</${name}>`;
}

/** S3's error document: Code, Message, any extra elements, Resource, RequestId. */
export function errorXml(err: S3Error, resource: string, requestId: string): string {
  const extra = Object.entries(err.extra)
    .map(([k, v]) => el(k, v))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${el('Code', err.s3Code)}${el('Message', err.message)}${extra}${el('Resource', resource)}${el('RequestId', requestId)}</Error>`;
}

export function xmlDocument(root: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_XMLNS}">${body}</${root}>`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  isArray: (_name, path) => path === 'Delete.Object' || path === 'CompleteMultipartUpload.Part',
});

/** Parses a request document whose root must be `root`; anything else is MalformedXML. */
export function parseRequestXml(text: string, root: string): Record<string, unknown> {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new S3Error('MalformedXML', `The XML you provided was not well-formed: ${valid.err.msg} (line ${valid.err.line})`);
  const doc = parser.parse(text) as Record<string, unknown>;
  const top = doc[root];
  if (top === undefined) throw new S3Error('MalformedXML', `The XML you provided did not validate: expected a <${root}> document`);
  if (top === '' || top === null) return {};
  if (typeof top !== 'object') throw new S3Error('MalformedXML', `The XML you provided did not validate: <${root}> must hold elements`);
  return top as Record<string, unknown>;
}

/** A child element's text, or undefined; an element with children where text is expected is MalformedXML. */
export function text(node: unknown, name: string): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const v = (node as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v) || (v !== null && typeof v === 'object')) throw new S3Error('MalformedXML', `The XML you provided did not validate: <${name}> must be text`);
  return v === null ? '' : String(v);
}
