// The contract check: every response the HTTP tests see is validated against openapi/openapi.yaml.
//
// request() performs the call and then throws unless the response is one the document describes:
// a documented path and method (or a generic 404/405 problem from x-coi-generic-responses), a
// documented status, a documented media type, a body valid against its schema and every
// required header present and valid.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const DOCUMENT_PATH = path.join(ROOT, 'openapi/openapi.yaml');
export const document = YAML.parse(readFileSync(DOCUMENT_PATH, 'utf8'));

const DOC_ID = 'https://coi.invalid/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// Strict mode stays on for every schema. Only OpenAPI's own keywords are declared, as
// annotations that validate nothing: those a schema object may carry in OpenAPI 3.1
// (discriminator, xml, externalDocs, example), and the fields of the OpenAPI object itself,
// because the whole document is added as one schema resource so that `#/components/...`
// references resolve (Ajv compiles that root, which then checks nothing, and each fragment a
// response points at, in strict mode).
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const OPENAPI_KEYWORDS = ['discriminator', 'xml', 'externalDocs', 'example'];
const OPENAPI_OBJECT_FIELDS = Object.keys(document).filter((key) => key !== '$id' && key !== '$schema');
for (const keyword of new Set([...OPENAPI_KEYWORDS, ...OPENAPI_OBJECT_FIELDS])) {
  ajv.addKeyword({ keyword });
}
ajv.addSchema(document, DOC_ID);

const validators = new Map();
function validatorAt(pointer) {
  let validate = validators.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
    validators.set(pointer, validate);
  }
  return validate;
}

function escapePointer(token) {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

function getAt(pointer) {
  let node = document;
  for (const raw of pointer.split('/').slice(1)) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = node?.[token];
  }
  return node;
}

// Follows local $refs; returns the object and its JSON pointer.
function deref(node, pointer) {
  const seen = new Set();
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (!node.$ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${node.$ref}`);
    if (seen.has(node.$ref)) throw new Error(`$ref cycle at ${node.$ref}`);
    seen.add(node.$ref);
    pointer = node.$ref.slice(1);
    node = getAt(pointer);
    if (node === undefined) throw new Error(`dangling $ref ${pointer}`);
  }
  return { node, pointer };
}

// Path templates ordered so that literal segments win over {parameters}.
const templates = Object.keys(document.paths)
  .map((template) => ({
    template,
    regex: new RegExp(
      '^' +
        template
          .split('/')
          .map((segment) =>
            /^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
          )
          .join('/') +
        '$',
    ),
    literal: !template.includes('{'),
  }))
  .sort((a, b) => Number(b.literal) - Number(a.literal));

export function matchTemplate(requestPath) {
  return templates.find((t) => t.regex.test(requestPath))?.template ?? null;
}

/**
 * Compiles the schema of every documented response body and header (so that a schema Ajv
 * refuses in strict mode shows up at once, not in whichever test first meets that response).
 * Returns the number of schemas compiled.
 */
export function compileAllResponseSchemas() {
  let count = 0;
  const compileResponse = (raw, pointer) => {
    const { node: response, pointer: at } = deref(raw, pointer);
    for (const name of Object.keys(response.headers ?? {})) {
      const { node: header, pointer: hp } = deref(response.headers[name], `${at}/headers/${escapePointer(name)}`);
      if (header.schema) (validatorAt(`${hp}/schema`), count++);
    }
    for (const [type, media] of Object.entries(response.content ?? {})) {
      if (media.schema) (validatorAt(`${at}/content/${escapePointer(type)}/schema`), count++);
    }
  };
  for (const [template, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      for (const [status, raw] of Object.entries(item[method]?.responses ?? {})) {
        compileResponse(raw, `/paths/${escapePointer(template)}/${method}/responses/${escapePointer(status)}`);
      }
    }
  }
  for (const [status, raw] of Object.entries(document['x-coi-generic-responses'] ?? {})) {
    compileResponse(raw, `/x-coi-generic-responses/${escapePointer(status)}`);
  }
  return count;
}

/** The documented operations as "METHOD /path" strings. */
export function documentedOperations() {
  const out = [];
  for (const [template, item] of Object.entries(document.paths)) {
    for (const method of METHODS) if (item[method]) out.push(`${method.toUpperCase()} ${template}`);
  }
  return out.sort();
}

function mediaType(contentType) {
  return contentType ? contentType.split(';')[0].trim().toLowerCase() : null;
}

function isJsonMediaType(type) {
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

function describe(method, url, status) {
  return `${method} ${url.pathname}${url.search} -> ${status}`;
}

function formatErrors(errors) {
  return errors.map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`).join('; ');
}

function headerValue(value, schema) {
  // Header values are strings on the wire; an integer header is checked as its number.
  if (schema && (schema.type === 'integer' || schema.type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) {
    return Number(value);
  }
  return value;
}

/**
 * Finds the response object the document gives for a call, or throws.
 * Returns {node, pointer} of the (dereferenced) response object.
 */
function documentedResponse(method, url, status, contentType) {
  const template = matchTemplate(url.pathname);
  const operation = template ? document.paths[template][method.toLowerCase()] : undefined;
  if (!operation) {
    const generic = document['x-coi-generic-responses']?.[String(status)];
    if (generic && mediaType(contentType) === 'application/problem+json') {
      return deref(generic, `/x-coi-generic-responses/${status}`);
    }
    throw new Error(
      `contract: ${describe(method, url, status)}: ${template ? `method not documented for ${template}` : 'path not documented'} ` +
        `(only a generic 404/405 application/problem+json answer is allowed, got ${contentType ?? 'no Content-Type'})`,
    );
  }
  const base = `/paths/${escapePointer(template)}/${method.toLowerCase()}/responses`;
  const responses = operation.responses ?? {};
  const range = `${String(status)[0]}XX`;
  for (const key of [String(status), range, 'default']) {
    if (responses[key] !== undefined) return deref(responses[key], `${base}/${escapePointer(key)}`);
  }
  throw new Error(
    `contract: ${describe(method, url, status)}: status not documented for ${method.toUpperCase()} ${template} ` +
      `(documented: ${Object.keys(responses).join(', ')})`,
  );
}

function validateResponse(method, url, status, headers, text) {
  const contentType = headers.get('content-type');
  const { node: response, pointer } = documentedResponse(method, url, status, contentType);
  const where = describe(method, url, status);
  const problems = [];

  const documentsRequestId = Object.keys(response.headers ?? {}).some((h) => h.toLowerCase() === 'x-request-id');
  if (!documentsRequestId) problems.push('X-Request-Id is not documented for this response');
  for (const [name, raw] of Object.entries(response.headers ?? {})) {
    const { node: header, pointer: headerPointer } = deref(raw, `${pointer}/headers/${escapePointer(name)}`);
    const value = headers.get(name);
    if (value === null) {
      if (header.required) problems.push(`missing required header ${name}`);
      continue;
    }
    if (header.schema) {
      const validate = validatorAt(`${headerPointer}/schema`);
      const schema = deref(header.schema, `${headerPointer}/schema`).node;
      if (!validate(headerValue(value, schema))) {
        problems.push(`header ${name}: ${JSON.stringify(value)} ${formatErrors(validate.errors)}`);
      }
    }
  }

  let body = null;
  const content = response.content;
  if (!content || Object.keys(content).length === 0) {
    if (text !== '') problems.push(`no body is documented but got ${text.length} bytes`);
  } else {
    const type = mediaType(contentType);
    if (!type) {
      problems.push(`missing Content-Type (documented: ${Object.keys(content).join(', ')})`);
    } else if (!Object.prototype.hasOwnProperty.call(content, type)) {
      problems.push(`Content-Type ${contentType} not documented (documented: ${Object.keys(content).join(', ')})`);
    } else {
      let value = text;
      if (isJsonMediaType(type)) {
        try {
          value = body = JSON.parse(text);
        } catch (error) {
          problems.push(`body is not JSON (${error.message}): ${text.slice(0, 200)}`);
          value = undefined;
        }
      }
      if (value !== undefined && content[type].schema) {
        const validate = validatorAt(`${pointer}/content/${escapePointer(type)}/schema`);
        if (!validate(value)) problems.push(`body: ${formatErrors(validate.errors)}`);
      }
    }
  }

  if (problems.length > 0) {
    throw new Error(`contract: ${where}: ${problems.join('; ')}\nbody: ${text.slice(0, 1000)}`);
  }
  return body;
}

/**
 * Calls the server and validates the response against the document.
 *   server:  {url} from startServer()
 *   options: headers (object), body (a value sent as JSON, Content-Type application/json unless
 *            headers say otherwise), rawBody (string, Buffer or ReadableStream sent as is; a
 *            stream is sent chunked).
 * Returns {status, headers, body (parsed JSON or null), text}.
 */
export async function request(server, method, requestPath, { headers = {}, body, rawBody } = {}) {
  const url = new URL(requestPath, server.url);
  const init = { method, headers: { ...headers }, redirect: 'manual' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    const hasType = Object.keys(init.headers).some((h) => h.toLowerCase() === 'content-type');
    if (!hasType) init.headers['Content-Type'] = 'application/json';
  } else if (rawBody !== undefined) {
    init.body = rawBody;
    if (typeof rawBody?.getReader === 'function') init.duplex = 'half';
  }
  const response = await fetch(url, init);
  const text = await response.text();
  const parsed = validateResponse(method, url, response.status, response.headers, text);
  return { status: response.status, headers: response.headers, body: parsed, text };
}
