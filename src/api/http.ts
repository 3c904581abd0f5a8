// The Fastify instance every API surface mounts on: JSON parsing that answers M_NOT_JSON,
// validation errors mapped to Matrix errcodes, CORS as the client-server spec requires, a
// 404 M_UNRECOGNIZED fallback and a 500 M_UNKNOWN for anything unexpected (logged with the
// request id, never with the body).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyError, type FastifyReply } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';
import type { Logger } from 'pino';
import { MatrixError } from '../core/errors.ts';

export interface HttpOptions {
  logger: Logger;
  maxBodyBytes: number;
}

const CLIENT_R0 = '/_matrix/client/r0/';
const CLIENT_V3 = '/_matrix/client/v3/';

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization',
};

// Bodies are validated strictly (a number is not a string); query strings and path params
// arrive as text, so they are coerced to the declared types.
const bodyAjv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
const queryAjv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });

function errcodeForValidation(error: FastifyError): MatrixError {
  const first = error.validation?.[0];
  const where = error.validationContext ?? 'body';
  const field = first?.instancePath ? first.instancePath.replace(/^\//, '').replace(/\//g, '.') : '';
  if (first?.keyword === 'required') {
    const missing = (first.params as { missingProperty?: string }).missingProperty ?? '';
    return new MatrixError('M_MISSING_PARAM', `Missing ${where === 'body' ? 'field' : 'parameter'}: ${[field, missing].filter(Boolean).join('.')}`);
  }
  const message = `${where === 'body' ? 'Invalid field' : 'Invalid parameter'} ${field || '(root)'}: ${first?.message ?? 'invalid'}`;
  return new MatrixError(where === 'body' ? 'M_BAD_JSON' : 'M_INVALID_PARAM', message);
}

/**
 * How deeply objects and arrays may nest in a request body. JSON.parse takes far deeper input,
 * but the walks that follow it (validation, canonical JSON, JSON.stringify) recurse and would
 * overflow the stack — a 500 for what is the client's fault. No Matrix body comes near this.
 */
export const MAX_JSON_DEPTH = 100;

/** Whether parsed JSON `text` nests objects and arrays deeper than `limit`. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  // Each level costs at least one character, so short bodies (nearly all) skip the scan.
  if (text.length <= limit) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote (the text is valid JSON, so there is one).
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/**
 * Whether JSON `text` has a string holding U+0000. PostgreSQL's text cannot store that character
 * (SQLite can), so a NUL that reached a column would fail the write on one engine only; it is
 * refused at the door on both, as no Matrix identifier or message needs it.
 */
export function hasNulCharacter(text: string): boolean {
  for (let i = text.indexOf('\\u0000'); i >= 0; i = text.indexOf('\\u0000', i + 1)) {
    // In JSON text two backslashes before "u0000" are an escaped backslash and then the letters
    // "u0000": only an odd run of backslashes makes an escape of the u.
    let backslashes = 1;
    while (i - backslashes >= 0 && text.charCodeAt(i - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 1) return true;
  }
  return false;
}

/**
 * Errors Fastify's router raises before any hook runs: a path that is not valid percent-encoded
 * UTF-8, or a path parameter over the router's length limit. Answered as Matrix errors, with
 * the CORS headers every answer carries.
 */
function routerErrorOf(error: FastifyError): MatrixError {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return new MatrixError('M_INVALID_PARAM', `A path parameter is longer than ${MAX_PARAM_LENGTH} characters`);
  if (error.code === 'FST_ERR_BAD_URL') return new MatrixError('M_INVALID_PARAM', 'The path is not valid percent-encoded UTF-8');
  return new MatrixError('M_UNKNOWN', 'Bad request', {}, 400);
}

/** The methods Matrix endpoints use (a known path asked with another method is answered 405). */
const METHODS = ['GET', 'PUT', 'POST', 'DELETE'] as const;

/** Longest path parameter the router takes (Matrix IDs are at most 255 bytes; percent-encoding triples that). */
const MAX_PARAM_LENGTH = 1000;

/** Request ids: this process's random prefix and a counter (unique across restarts, no per-request random). */
const processTag = Math.random().toString(36).slice(2, 6);
let requestCounter = 0;

export function createHttpServer(options: HttpOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Request lines are not logged: URLs can carry room IDs and tokens (legacy query auth).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    trustProxy: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error, _req, reply) => {
      const me = routerErrorOf(error);
      void (reply as FastifyReply).code(me.status).headers(CORS_HEADERS).send(me.toJSON());
    },
    genReqId: () => processTag + (++requestCounter).toString(36),
    // No child logger per request: pino's child() serialises and redacts its bindings each time
    // (~1.5 µs and several objects per request), and the one log line a request can write (the
    // 500 below) carries its reqId explicitly.
    childLoggerFactory: (logger) => logger,
    // Clients still call the r0 paths of the client-server API; they are the v3 endpoints. A
    // rewrite before routing serves them without a second copy of every route (each Fastify
    // route holds its own context and schemas: the copies cost ~2–3 MB of idle RSS).
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      return url.startsWith(CLIENT_R0) ? CLIENT_V3 + url.slice(CLIENT_R0.length) : url;
    },
  });

  // Compiled on a route's first request, not at start-up: Ajv generates and V8 compiles one
  // function per schema, and most of the ~200 routes are never called on a given server — compiling
  // them all up front held ~7 MB of generated source and bytecode for nothing. Fastify reads
  // `errors` off the function it was given, so the wrapper forwards the compiled one's.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : queryAjv;
    let compiled: ValidateFunction | undefined;
    const validate: ((data: unknown) => boolean) & { errors?: ValidateFunction['errors'] } = (data) => {
      compiled ??= ajv.compile(schema);
      const ok = compiled(data);
      validate.errors = compiled.errors;
      return ok;
    };
    return validate;
  });

  // Clients send JSON with and without a content type; an empty body reads as {}.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      done(new MatrixError('M_NOT_JSON', 'Content not JSON.'), undefined);
      return;
    }
    if (hasNulCharacter(text)) {
      done(new MatrixError('M_BAD_JSON', 'Strings may not contain U+0000'), undefined);
      return;
    }
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      done(new MatrixError('M_BAD_JSON', `JSON nested more than ${MAX_JSON_DEPTH} levels deep`), undefined);
      return;
    }
    done(null, parsed);
  });

  // Callback style rather than async: a hook on every request should not cost a promise.
  app.addHook('onRequest', (req, reply, done) => {
    void reply.headers(CORS_HEADERS);
    if (req.method === 'OPTIONS') {
      void reply.code(204).send();
      return;
    }
    // A NUL in a path or query parameter: no Matrix ID, type or token has one, and PostgreSQL
    // could not store or compare it (see hasNulCharacter).
    if (req.url.includes('%00')) {
      const me = new MatrixError('M_INVALID_PARAM', 'Parameters may not contain U+0000');
      void reply.code(me.status).send(me.toJSON());
      return;
    }
    done();
  });

  // Spec ("Unsupported endpoints"): an unknown endpoint is 404 M_UNRECOGNIZED, a known one
  // called with a method it does not take is 405 M_UNRECOGNIZED.
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?', 1)[0];
    const known = METHODS.some((method) => method !== req.method && app.findRoute({ method, url: path }) !== null);
    if (known) void reply.code(405).send({ errcode: 'M_UNRECOGNIZED', error: `${req.method} is not allowed on this endpoint` });
    else void reply.code(404).send({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });

  app.setErrorHandler((error: FastifyError | MatrixError | Error, req, reply) => {
    if (error instanceof MatrixError) {
      return reply.code(error.status).send(error.toJSON());
    }
    const fe = error as FastifyError;
    if (fe.validation) {
      const me = errcodeForValidation(fe);
      return reply.code(me.status).send(me.toJSON());
    }
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ errcode: 'M_TOO_LARGE', error: 'Request body too large' });
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send({ errcode: 'M_UNKNOWN', error: fe.message });
    }
    req.log.error({ err: error, reqId: req.id, url: req.routeOptions?.url }, 'unhandled error');
    return reply.code(500).send({ errcode: 'M_UNKNOWN', error: `Internal server error (request ${req.id})` });
  });

  return app;
}
