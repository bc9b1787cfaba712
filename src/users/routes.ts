import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import {
  checkPassword,
  createSession,
  deleteSession,
  SESSION_DAYS,
  setLocale,
  type User,
  userForSession,
} from './store.js';

/** The dashboard's session cookie: httpOnly, SameSite=Lax, Secure when served over HTTPS. */
export const SESSION_COOKIE = 'rt_session';

const publicUser = (u: User) => ({
  id: u.id,
  accountId: u.accountId,
  email: u.email,
  name: u.name,
  locale: u.locale,
});

/**
 * The user of the request's session cookie, or null. State-changing requests must come from the
 * dashboard's own origin (SameSite=Lax already keeps the cookie off cross-site POSTs; this also covers
 * sibling subdomains).
 */
export async function sessionUser(ctx: AppContext, req: FastifyRequest): Promise<User | null> {
  const token = req.cookies[SESSION_COOKIE];
  if (!token) return null;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const origin = req.headers.origin;
    if (origin && new URL(origin).host !== req.headers.host)
      throw new HttpError(403, 'forbidden', 'Cross-origin request with a session cookie');
  }
  return userForSession(ctx.db, ctx.clock, token);
}

/** Login, logout and "who am I" for the dashboard. These routes sit outside the /api/v1 auth hook. */
export function authRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const cookieOptions = (req: FastifyRequest) => ({
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: req.protocol === 'https',
  });
  const requireUser = async (req: FastifyRequest): Promise<User> => {
    const user = await sessionUser(ctx, req);
    if (!user) throw new HttpError(401, 'unauthorized', 'Not logged in');
    return user;
  };

  r.post(
    '/api/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        security: [],
        body: z.object({ email: z.string().min(1).max(320), password: z.string().min(1).max(1000) }).strict(),
      },
    },
    async (req, reply) => {
      const user = await checkPassword(ctx.db, req.body.email, req.body.password);
      if (!user) throw new HttpError(401, 'invalid_credentials', 'Wrong email or password');
      const session = await createSession(ctx.db, ctx.clock, user);
      reply.setCookie(SESSION_COOKIE, session.token, {
        ...cookieOptions(req),
        maxAge: SESSION_DAYS * 86_400,
      });
      return publicUser(user);
    },
  );

  r.post('/api/v1/auth/logout', { schema: { tags: ['auth'], security: [] } }, async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) {
      await sessionUser(ctx, req); // the origin check
      await deleteSession(ctx.db, token);
    }
    reply.clearCookie(SESSION_COOKIE, cookieOptions(req));
    reply.code(204);
  });

  r.get('/api/v1/auth/me', { schema: { tags: ['auth'], security: [] } }, async (req) => {
    return publicUser(await requireUser(req));
  });

  r.patch(
    '/api/v1/auth/me',
    {
      schema: { tags: ['auth'], security: [], body: z.object({ locale: z.enum(['ru', 'en']) }).strict() },
    },
    async (req) => {
      const user = await requireUser(req);
      await setLocale(ctx.db, user, req.body.locale);
      return publicUser({ ...user, locale: req.body.locale });
    },
  );
}
