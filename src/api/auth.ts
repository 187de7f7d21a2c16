/**
 * Bearer auth of the admin and read API: `Authorization: Bearer $ADMIN_TOKEN`; with no ADMIN_TOKEN
 * configured every call is 401. Route plugins add `adminAuth(token)` as an `onRequest` hook, so
 * the check runs before any parsing or validation (a bad body without a token is 401, not 400),
 * and only on their own routes: the receiver, health, metrics, docs and the OAuth callback stay
 * public.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestAsyncHookHandler } from 'fastify';

export function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(header.slice(7)).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

export function adminAuth(token: string | undefined): onRequestAsyncHookHandler {
  return async (req, reply) => {
    if (!bearerMatches(req.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer');
      return reply
        .code(401)
        .send({ error: 'unauthorized', message: 'Authorization: Bearer <ADMIN_TOKEN> required' });
    }
  };
}
