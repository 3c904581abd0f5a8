// Declaring routes: every route names its spec path, its auth kind, its TypeBox schemas and a
// handler of a few lines. Client-server v3 paths are also served under /r0 (older clients).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { MatrixError } from '../core/errors.ts';
import type { Authenticator, Requester } from '../services/auth/authenticator.ts';
import type { RateLimiter } from '../util/rate-limiter.ts';

export type AuthKind = 'none' | 'optional' | 'user' | 'guest' | 'admin';
export type RateLimitName = 'login' | 'registration' | 'message' | 'media_upload' | 'to_device';

/** A response other than 200 JSON. */
export class HttpResponse {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

type Infer<S> = S extends TSchema ? Static<S> : Record<string, never>;

export interface HandlerContext<B, Q, P, R> {
  body: Infer<B>;
  query: Infer<Q>;
  params: Infer<P>;
  requester: R;
  req: FastifyRequest;
  reply: FastifyReply;
}

type RequesterFor<A extends AuthKind> = A extends 'none' ? null : A extends 'optional' ? Requester | null : Requester;

export interface RouteSpec<A extends AuthKind, B, Q, P> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  auth: A;
  body?: B;
  query?: Q;
  params?: P;
  rateLimit?: RateLimitName;
  /** Raise the JSON body limit for this route (bytes). */
  bodyLimit?: number;
  handler(ctx: HandlerContext<B, Q, P, RequesterFor<A>>): Promise<unknown> | unknown;
}

export interface RouterDeps {
  authenticator: Pick<Authenticator, 'authenticate'>;
  /** Application services: resolves an as_token (with user_id / device_id masquerading), else null. */
  appservices?: { authenticate(token: string, query: Record<string, unknown>): Promise<Requester | null> };
  rateLimiters: Partial<Record<RateLimitName, RateLimiter>>;
}

const BEARER = 'Bearer ';
/** Any whitespace character, as `\s` in the header's pattern. */
const WHITESPACE = /\s/;

export function accessTokenOf(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    // The usual form, "Bearer <token>", without a regex match (every request asks): the same
    // answer as the pattern below, which handles every other spelling.
    if (header.length > BEARER.length && header.startsWith(BEARER)) {
      const token = header.slice(BEARER.length);
      if (!WHITESPACE.test(token)) return token;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new MatrixError('M_MISSING_TOKEN', 'Invalid Authorization header');
    return m[1];
  }
  const q = (req.query as Record<string, unknown> | undefined)?.access_token;
  return typeof q === 'string' && q.length > 0 ? q : undefined;
}

/** Who a token belongs to: an appservice (as_token, maybe masquerading) or a user's device. */
export type TokenResolver = (token: string, req: FastifyRequest) => Promise<Requester>;

/**
 * Each request's token check, shared by the device-activity hook and the route (one hash, one
 * lookup). Kept on the request itself rather than in a WeakMap: an entry per request in a
 * WeakMap is an ephemeron every young-generation GC has to trace.
 */
const REQUESTER = Symbol('requester');
type WithRequester = FastifyRequest & { [REQUESTER]?: Promise<Requester> };

/** The requester of an authenticated request, resolved once per request. */
export function authenticateRequest(resolveToken: TokenResolver, req: FastifyRequest, token: string): Promise<Requester> {
  const r = req as WithRequester;
  return (r[REQUESTER] ??= resolveToken(token, req));
}

export class Router {
  constructor(
    readonly app: FastifyInstance,
    private readonly deps: RouterDeps,
  ) {}

  /** as_tokens first (they are few and held in memory), then users' access tokens. */
  readonly resolveToken: TokenResolver = (token, req) => {
    const appservices = this.deps.appservices;
    if (!appservices) return this.deps.authenticator.authenticate(token);
    return appservices
      .authenticate(token, (req.query ?? {}) as Record<string, unknown>)
      .then((viaAppservice) => viaAppservice ?? this.deps.authenticator.authenticate(token));
  };

  route<A extends AuthKind, B extends TSchema | undefined = undefined, Q extends TSchema | undefined = undefined, P extends TSchema | undefined = undefined>(
    spec: RouteSpec<A, B, Q, P>,
  ): void {
    // The r0 aliases of v3 paths are served by a URL rewrite (http.ts), not a second route.
    this.app.route({
      method: spec.method,
      url: spec.path,
      bodyLimit: spec.bodyLimit,
      schema: {
        ...(spec.body ? { body: spec.body } : {}),
        ...(spec.query ? { querystring: spec.query } : {}),
        ...(spec.params ? { params: spec.params } : {}),
      },
      handler: async (req, reply) => {
        const requester = await this.resolveRequester(spec.auth, req);
        if (spec.rateLimit) this.checkRateLimit(spec.rateLimit, requester?.userId ?? req.ip, requester ?? (await this.appserviceOf(req)));
        const result = await spec.handler({
          body: (req.body ?? {}) as Infer<B>,
          query: (req.query ?? {}) as Infer<Q>,
          params: (req.params ?? {}) as Infer<P>,
          requester: requester as RequesterFor<A>,
          req,
          reply,
        });
        if (result instanceof HttpResponse) {
          return reply.code(result.status).headers(result.headers).send(result.body);
        }
        if (reply.sent) return reply;
        return reply.send(result ?? {});
      },
    });
  }

  /**
   * Routes that read their request body as a stream (media uploads): registered in their own
   * Fastify context whose body parser hands the raw stream to the handler as `req.body`
   * instead of buffering it. The handler enforces its own size limit.
   */
  streamingBodies(register: (r: Router) => void): void {
    void this.app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
      register(new Router(scope, this.deps));
    });
  }

  private async resolveRequester(auth: AuthKind, req: FastifyRequest): Promise<Requester | null> {
    if (auth === 'none') return null;
    const token = accessTokenOf(req);
    if (!token) {
      if (auth === 'optional') return null;
      throw new MatrixError('M_MISSING_TOKEN', 'Missing access token');
    }
    const requester = await authenticateRequest(this.resolveToken, req, token);
    if (requester.isGuest && auth !== 'guest' && auth !== 'optional') {
      throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest access not allowed');
    }
    if (auth === 'admin' && !requester.isAdmin) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
    return requester;
  }

  /** Unauthenticated routes (/login) called with an as_token: the appservice, for rate limiting. */
  private async appserviceOf(req: FastifyRequest): Promise<Requester | null> {
    if (!this.deps.appservices) return null;
    try {
      const token = accessTokenOf(req);
      return token ? await this.deps.appservices.authenticate(token, {}) : null;
    } catch {
      return null;
    }
  }

  private checkRateLimit(name: RateLimitName, key: string, requester: Requester | null): void {
    const limiter = this.deps.rateLimiters[name];
    if (!limiter || requester?.isAdmin) return;
    // Appservices are exempt unless their registration says `rate_limited: true`.
    if (requester?.viaAppservice ? !requester.viaAppservice.rateLimited : requester?.appserviceId) return;
    const waitMs = limiter.take(key);
    if (waitMs > 0) throw new MatrixError('M_LIMIT_EXCEEDED', 'Too many requests', { retry_after_ms: waitMs });
  }
}
