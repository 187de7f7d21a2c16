/**
 * `accounts` on the real MongoDB-protocol server: tokens are ciphertext at rest and decrypt back,
 * key rotation, token versions, and (re-)registration.
 */
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEncryptionKeys } from '../../src/config.js';
import { AccountsRepo } from '../../src/store/accounts-repo.js';
import { type Collections, collections, ensureIndexes } from '../../src/store/db.js';
import { TokenCrypto } from '../../src/store/token-crypto.js';
import { testMongoUri, uniqueName } from '../support/env.js';

const OLD = parseEncryptionKeys(Buffer.alloc(32, 1).toString('base64'))[0]!;
const NEW = parseEncryptionKeys(Buffer.alloc(32, 2).toString('hex'))[0]!;

let client: MongoClient;
let db: Db;
let c: Collections;
const repoWith = (...keys: (typeof OLD)[]) => new AccountsRepo(c.accounts, new TokenCrypto(keys));

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUri());
  db = client.db(uniqueName('db'));
  await ensureIndexes(db);
  c = collections(db);
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
});

let n = 0;
const acct = () => `acc-${++n}`;
const tokens = (tag: string) => ({
  accessToken: `AT_${tag}_secret_value`,
  refreshToken: `RT_${tag}_secret_value`,
});
const register = (repo: AccountsRepo, accountId: string, t = tokens(accountId)) =>
  repo.register({ accountId, ...t, dataCenter: 'us', calendarIds: null });

/** The raw document as any reader of the database sees it. */
const raw = async (accountId: string) => JSON.stringify(await c.accounts.findOne({ _id: accountId }));

describe('tokens at rest', () => {
  it('are ciphertext in the document and decrypt back; get() never returns them', async () => {
    const repo = repoWith(OLD);
    const a = acct();
    const t = tokens('plain');
    expect(await register(repo, a, t)).toEqual({ created: true });
    const doc = await raw(a);
    for (const secret of [t.accessToken, t.refreshToken, 'secret_value']) {
      expect(doc).not.toContain(secret);
      expect(doc).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(JSON.parse(doc).accessToken).toMatchObject({
      v: 1,
      keyId: OLD.id,
      iv: expect.any(String),
      tag: expect.any(String),
    });
    expect(await repo.tokens(a)).toEqual({ ...t, tokenVersion: 1, accessTokenExpiresAt: null });
    const info = await repo.get(a);
    expect(info).not.toHaveProperty('accessToken');
    expect(info).not.toHaveProperty('refreshToken');
    expect(info).toMatchObject({ accountId: a, state: 'active', dataCenter: 'us', deregisteredAt: null });
  });

  it('are bound to their account: a ciphertext copied to another account does not decrypt', async () => {
    const repo = repoWith(OLD);
    const [a, b] = [acct(), acct()];
    await register(repo, a);
    await register(repo, b);
    const docA = await c.accounts.findOne({ _id: a });
    await c.accounts.updateOne({ _id: b }, { $set: { accessToken: docA!.accessToken } });
    await expect(repo.tokens(b)).rejects.toThrow();
  });

  it('key rotation: new key first, old still decrypts, rewritten with the new key on the next write', async () => {
    const a = acct();
    await register(repoWith(OLD), a, tokens('v1'));

    const rotating = repoWith(NEW, OLD);
    expect(await rotating.tokens(a)).toMatchObject(tokens('v1'));
    expect(JSON.parse(await raw(a)).refreshToken.keyId).toBe(OLD.id);

    // The next token write (a refresh here) re-encrypts with the current key.
    expect(await rotating.storeRefreshed(a, 1, { ...tokens('v2'), expiresInSec: 3600 })).toBe(true);
    const doc = JSON.parse(await raw(a));
    expect([doc.accessToken.keyId, doc.refreshToken.keyId]).toEqual([NEW.id, NEW.id]);
    expect(await repoWith(NEW).tokens(a)).toMatchObject({ ...tokens('v2'), tokenVersion: 2 });
    expect((await repoWith(NEW).tokens(a))?.accessTokenExpiresAt).toBeInstanceOf(Date);
    // The old key alone can no longer read it: it can be removed once every document is rewritten.
    await expect(repoWith(OLD).tokens(a)).rejects.toThrow(/unknown key/);
  });

  it('replaceTokens (re-authorization) re-encrypts with the current key and beats a stale refresh', async () => {
    const a = acct();
    await register(repoWith(OLD), a, tokens('v1'));
    const repo = repoWith(NEW, OLD);
    const readByRefresh = await repo.tokens(a); // a refresh in flight read version 1

    expect(await repo.replaceTokens(a, tokens('reauth'))).toBe(true);
    expect(JSON.parse(await raw(a)).accessToken.keyId).toBe(NEW.id);
    expect(await repo.storeRefreshed(a, readByRefresh!.tokenVersion, tokens('stale'))).toBe(false);
    expect(await repo.tokens(a)).toMatchObject({ ...tokens('reauth'), tokenVersion: 2 });
    expect(await raw(a)).not.toContain('reauth_secret');
  });

  it('replaceTokens refuses unknown and deregistered accounts', async () => {
    const repo = repoWith(OLD);
    expect(await repo.replaceTokens('nobody', tokens('x'))).toBe(false);
    const a = acct();
    await register(repo, a);
    await repo.markDeregistered(a);
    expect(await repo.replaceTokens(a, tokens('x'))).toBe(false);
    expect(await repo.tokens(a)).toMatchObject(tokens(a));
  });
});

describe('registration', () => {
  it('is idempotent: replaces tokens and settings, keeps channel and state', async () => {
    const repo = repoWith(OLD);
    const a = acct();
    await register(repo, a);
    await repo.setChannel(a, 'chn_1');
    await repo.setState(a, 'degraded');
    expect(
      await repo.register({ accountId: a, ...tokens('again'), dataCenter: 'uk', calendarIds: ['cal_1'] }),
    ).toEqual({ created: false });
    expect(await repo.get(a)).toMatchObject({
      channelId: 'chn_1',
      state: 'degraded',
      dataCenter: 'uk',
      calendarIds: ['cal_1'],
      tokenVersion: 2,
    });
    expect(await repo.tokens(a)).toMatchObject(tokens('again'));
  });

  it('registering a deregistered account makes it live again', async () => {
    const repo = repoWith(OLD);
    const a = acct();
    await register(repo, a);
    await repo.markDeregistered(a);
    expect(await repo.get(a)).toMatchObject({ state: 'closed', deregisteredAt: expect.any(Date) });
    expect(await register(repo, a)).toEqual({ created: false });
    expect(await repo.get(a)).toMatchObject({ state: 'active', deregisteredAt: null });
  });

  it('is refused while a deregistration is in progress, writing nothing; allowed once it has finished', async () => {
    const repo = repoWith(OLD);
    const a = acct();
    await register(repo, a);
    const before = await raw(a);
    await repo.markDeregistering(a);
    expect(await register(repo, a, tokens('new'))).toEqual({ created: false, deregistering: true });
    expect(await repo.tokens(a)).toMatchObject(tokens(a));
    expect(JSON.parse(await raw(a))).toMatchObject({
      ...JSON.parse(before),
      deregisterRequestedAt: expect.any(String),
    });
    await repo.markDeregistered(a);
    expect(await register(repo, a, tokens('new'))).toEqual({ created: false });
    expect(await repo.get(a)).toMatchObject({
      state: 'active',
      deregisteredAt: null,
      deregisterRequestedAt: null,
    });
  });

  it('delete removes the document', async () => {
    const repo = repoWith(OLD);
    const a = acct();
    await register(repo, a);
    expect(await repo.delete(a)).toBe(true);
    expect(await repo.get(a)).toBeNull();
    expect(await repo.delete(a)).toBe(false);
  });
});
