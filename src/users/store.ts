import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Clock } from '../clock.js';
import type { Queryable } from '../db/db.js';

export type Locale = 'ru' | 'en';

export interface User {
  accountId: string;
  id: string;
  email: string;
  name: string;
  locale: Locale;
}

/** How long a dashboard session lives without a new login. */
export const SESSION_DAYS = 30;

export class DuplicateEmailError extends Error {}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Creates a user with an argon2id password hash; the email is unique across the installation. */
export async function createUser(
  db: Queryable,
  clock: Clock,
  input: { accountId: string; email: string; password: string; name?: string; locale?: Locale },
): Promise<User> {
  const email = input.email.trim();
  const existing = await db.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [email]);
  if (existing.length > 0) throw new DuplicateEmailError(`a user with email ${email} already exists`);
  const user: User = {
    accountId: input.accountId,
    id: randomUUID(),
    email,
    name: input.name ?? '',
    locale: input.locale ?? 'ru',
  };
  await db.query(
    `INSERT INTO users (account_id, id, email, password_hash, name, locale, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [user.accountId, user.id, user.email, await hash(input.password), user.name, user.locale, clock.now()],
  );
  return user;
}

// A hash of a password nobody has, verified when the email is unknown, so both failures take as long.
let dummyHash: Promise<string> | undefined;

/** The user with this email and password, or null. */
export async function checkPassword(db: Queryable, email: string, password: string): Promise<User | null> {
  const rows = await db.query<User & { passwordHash: string }>(
    `SELECT account_id AS "accountId", id, email, name, locale, password_hash AS "passwordHash"
       FROM users WHERE lower(email) = lower($1)`,
    [email.trim()],
  );
  const row = rows[0];
  if (!row) {
    dummyHash ??= hash(randomBytes(16).toString('hex'));
    await verify(await dummyHash, password).catch(() => false);
    return null;
  }
  const ok = await verify(row.passwordHash, password).catch(() => false);
  if (!ok) return null;
  const { passwordHash: _, ...user } = row;
  return user;
}

/** A new session: the random token goes to the browser, only its SHA-256 is stored. */
export async function createSession(
  db: Queryable,
  clock: Clock,
  user: User,
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + SESSION_DAYS * 86_400_000);
  await db.query(
    `INSERT INTO sessions (token_hash, account_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
    [sha256(token), user.accountId, user.id, now, expiresAt],
  );
  return { token, expiresAt };
}

/** The user of a live session token, or null for an unknown or expired one. */
export async function userForSession(db: Queryable, clock: Clock, token: string): Promise<User | null> {
  const rows = await db.query<User>(
    `SELECT u.account_id AS "accountId", u.id, u.email, u.name, u.locale
       FROM sessions s JOIN users u ON u.account_id = s.account_id AND u.id = s.user_id
      WHERE s.token_hash = $1 AND s.expires_at > $2`,
    [sha256(token), clock.now()],
  );
  return rows[0] ?? null;
}

export async function deleteSession(db: Queryable, token: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE token_hash = $1', [sha256(token)]);
}

export async function setLocale(db: Queryable, user: User, locale: Locale): Promise<void> {
  await db.query('UPDATE users SET locale = $3 WHERE account_id = $1 AND id = $2', [
    user.accountId,
    user.id,
    locale,
  ]);
}
