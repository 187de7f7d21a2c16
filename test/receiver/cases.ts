/**
 * The receiver's bad-input matrix, as data: each case is one request (path, headers, body) and what
 * the receiver must answer. Shared by the inject-level matrix (recording fake of
 * `workflows.notify`) and the real-Temporal subset (no workflow may exist afterwards).
 */
import { computeHmac } from '../../src/cronofy/hmac.js';
import { callbackUrl, changeBody, NEW_SECRET, OLD_SECRET, sign, WRONG_SECRET } from './support.js';

export interface MatrixCase {
  name: string;
  /** Raw path segment after `/cronofy/notifications/` (default: a plain, valid account id). */
  segment?: string;
  /**
   * Send over real HTTP with the path byte for byte: `inject()` normalises the URL like a browser
   * (`%2e%2e` becomes `..` and is folded away), which would hide what a raw client can send.
   */
  rawPath?: boolean;
  /** Only meaningful through `inject()` (e.g. a Content-Length the body does not match). */
  injectOnly?: boolean;
  /** The account id a workflow would have been started for, when it differs from `segment`. */
  decodedAccountId?: string;
  method?: 'POST' | 'GET' | 'PUT';
  body: string | Buffer;
  headers: Record<string, string | string[]>;
  status: number;
  /** `error` field of the JSON body; undefined for 202. */
  error?: string;
  /** Pattern the `message` must match: says what was wrong. */
  message?: RegExp;
  /** Whether `workflows.notify` must have been called (default false). */
  signalled?: boolean;
  /** The HMAC failure reason counted in the metrics (401 cases). */
  reason?: 'missing_header' | 'malformed_header' | 'mismatch';
}

export const JSON_CT = 'application/json; charset=utf-8';

/**
 * The matrix for pushes to `/cronofy/notifications/<account>`: every signed body names `account`
 * in its `channel.callback_url` (what Cronofy signs), except in the cases about that binding.
 */
export function matrix(account: string): MatrixCase[] {
  const BODY = changeBody({ accountId: account });
  const SIG = sign(BODY);
  const signed = (body: string | Buffer, secrets: readonly string[] = [NEW_SECRET]) => ({
    'content-type': JSON_CT,
    'cronofy-hmac-sha256': sign(body, secrets),
  });
  const withSig = (sig: string) => ({ 'content-type': JSON_CT, 'cronofy-hmac-sha256': sig });
  const notification = (
    n: Record<string, unknown>,
    channel: Record<string, unknown> = { channel_id: 'chn_1', callback_url: callbackUrl(account) },
  ) => JSON.stringify({ notification: n, channel });

  const mismatch = { status: 403, error: 'account_mismatch', message: /callback_url/ } as const;
  const changeOf = (callback_url: unknown) =>
    notification(
      { type: 'change', changes_since: '2026-03-01T10:00:00Z' },
      { channel_id: 'chn_1', callback_url },
    );
  const noCallback = notification(
    { type: 'change', changes_since: '2026-03-01T10:00:00Z' },
    { channel_id: 'chn_1', filters: {} },
  );
  const emptyCallback = changeOf('');
  const foreignCallback = changeOf('https://example.test/hooks/cronofy');
  const longerCallback = changeOf(`${callbackUrl(account)}x`);
  const trailingCallback = changeOf(`${callbackUrl(account)}/extra`);
  const notUrlCallback = changeOf(`/cronofy/notifications/${account}`);
  const otherUnknown = notification(
    { type: 'calendar_exploded' },
    { channel_id: 'chn_1', callback_url: callbackUrl(`${account}-b`) },
  );
  const proxiedCallback = changeOf(
    `http://old-host.internal:8080/sync/v2/cronofy/notifications/${encodeURIComponent(account)}`,
  );
  // As captured from a live channel in 2026: `scheduling_conversations` inside `channel`.
  const captured2026 = JSON.stringify({
    notification: { type: 'change', changes_since: '2026-08-12T07:41:09Z' },
    channel: {
      channel_id: 'chn_captured',
      callback_url: callbackUrl(account),
      filters: {},
      scheduling_conversations: {},
    },
  });
  const unauthorised = { status: 401, error: 'invalid_signature', message: /Cronofy-HMAC-SHA256/ } as const;
  const invalidBody = (message: RegExp) => ({ status: 400, error: 'invalid_body', message }) as const;
  const badAccount = { status: 400, error: 'invalid_account_id', message: /account id/ } as const;

  const truncated = BODY.slice(0, BODY.length - 10);
  const reserialised = JSON.stringify(JSON.parse(BODY), null, 2);
  const invalidUtf8 = Buffer.concat([
    Buffer.from(
      '{"notification":{"type":"change","changes_since":"2026-03-01T10:00:00Z"},"channel":{"channel_id":"chn_',
    ),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from('"}}'),
  ]);
  const deep = JSON.stringify({
    notification: { type: 'change', changes_since: '2026-03-01T10:00:00Z' },
    channel: { channel_id: 'chn_deep', callback_url: callbackUrl(account) },
    nested: 'DEEP',
  }).replace('"DEEP"', `${'['.repeat(1500)}${']'.repeat(1500)}`);
  const huge = JSON.stringify({
    notification: { type: 'change', changes_since: '2026-03-01T10:00:00Z' },
    channel: { channel_id: 'chn_1', callback_url: callbackUrl(account), padding: 'x'.repeat(8000) },
  });
  const protoBody =
    '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},' +
    `"notification":{"type":"change","changes_since":"2026-03-01T10:00:00Z"},"channel":{"channel_id":"chn_proto","callback_url":"${callbackUrl(account)}"}}`;
  const extraFields = JSON.stringify({
    notification: { type: 'change', changes_since: '2026-03-01T10:00:00Z', future_field: { a: 1 } },
    channel: {
      channel_id: 'chn_extra',
      callback_url: callbackUrl(account),
      filters: { only_managed: true },
      v: 2,
    },
    delivery: { attempt: 3 },
  });
  const unicode = notification(
    { type: 'change', changes_since: '2026-03-01T10:00:00Z' },
    { channel_id: 'chn_ünï_😀_مرحبا', callback_url: callbackUrl(account) },
  );

  return [
    // --- Cronofy-HMAC-SHA256 -------------------------------------------------------------------
    {
      name: 'no signature header',
      body: BODY,
      headers: { 'content-type': JSON_CT },
      ...unauthorised,
      reason: 'missing_header',
    },
    {
      name: 'empty signature header',
      body: BODY,
      headers: withSig(''),
      ...unauthorised,
      reason: 'missing_header',
    },
    {
      name: 'signature header of commas and spaces',
      body: BODY,
      headers: withSig(' , ,'),
      ...unauthorised,
      reason: 'missing_header',
    },
    {
      name: 'garbage signature',
      body: BODY,
      headers: withSig('not a signature'),
      ...unauthorised,
      reason: 'malformed_header',
    },
    {
      name: 'hex instead of base64',
      body: BODY,
      headers: withSig(Buffer.from(SIG, 'base64').toString('hex')),
      ...unauthorised,
      reason: 'malformed_header',
    },
    {
      name: 'base64 without padding',
      body: BODY,
      headers: withSig(SIG.replace(/=$/, '')),
      ...unauthorised,
      reason: 'malformed_header',
    },
    {
      name: 'base64 of the wrong length',
      body: BODY,
      headers: withSig(SIG.slice(0, 40)),
      ...unauthorised,
      reason: 'malformed_header',
    },
    {
      name: '"sha256=" prefixed value',
      body: BODY,
      headers: withSig(`sha256=${SIG}`),
      ...unauthorised,
      reason: 'malformed_header',
    },
    {
      name: 'signature in another header',
      body: BODY,
      headers: { 'content-type': JSON_CT, 'x-cronofy-hmac-sha256': SIG },
      ...unauthorised,
      reason: 'missing_header',
    },
    {
      name: 'signed with a secret we do not hold',
      body: BODY,
      headers: signed(BODY, [WRONG_SECRET]),
      ...unauthorised,
      reason: 'mismatch',
    },
    {
      name: 'same JSON re-serialised (signed over the original bytes)',
      body: reserialised,
      headers: withSig(SIG),
      ...unauthorised,
      reason: 'mismatch',
    },
    {
      name: 'truncated body (signed over the whole)',
      body: truncated,
      headers: withSig(SIG),
      ...unauthorised,
      reason: 'mismatch',
    },
    {
      name: 'trailing newline added after signing',
      body: `${BODY}\n`,
      headers: withSig(SIG),
      ...unauthorised,
      reason: 'mismatch',
    },
    {
      name: 'one flipped character in the signature',
      body: BODY,
      headers: withSig(`${SIG.slice(0, 5)}${SIG[5] === 'A' ? 'B' : 'A'}${SIG.slice(6)}`),
      ...unauthorised,
      reason: 'mismatch',
    },
    {
      name: 'duplicate signature headers, both wrong',
      body: BODY,
      headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': [sign(BODY, [WRONG_SECRET]), 'garbage'] },
      ...unauthorised,
      reason: 'mismatch',
    },
    {
      name: 'empty body, unsigned',
      body: '',
      headers: { 'content-type': JSON_CT },
      ...unauthorised,
      reason: 'missing_header',
    },
    {
      name: 'unsigned request with a traversal account id (HMAC is checked first)',
      segment: '%2e%2e',
      rawPath: true,
      decodedAccountId: '..',
      body: BODY,
      headers: { 'content-type': JSON_CT },
      ...unauthorised,
      reason: 'missing_header',
    },

    // --- accepted signatures (rotation, whitespace, duplicates) --------------------------------
    {
      name: 'duplicate signature headers, one right',
      body: BODY,
      headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': ['garbage', SIG] },
      status: 202,
      signalled: true,
    },
    {
      name: 'rotation header with two values',
      body: BODY,
      headers: signed(BODY, [NEW_SECRET, OLD_SECRET]),
      status: 202,
      signalled: true,
    },
    {
      name: 'whitespace around the values',
      body: BODY,
      headers: withSig(` ${computeHmac(BODY, WRONG_SECRET)} ,\t${SIG}  `),
      status: 202,
      signalled: true,
    },
    {
      name: 'signed with the old secret only',
      body: BODY,
      headers: signed(BODY, [OLD_SECRET]),
      status: 202,
      signalled: true,
    },

    // --- size and content type ------------------------------------------------------------------
    {
      name: 'huge body',
      body: huge,
      headers: signed(huge),
      status: 413,
      error: 'payload_too_large',
      message: /larger than 4096 bytes/,
    },
    {
      name: 'text/plain',
      body: BODY,
      headers: { ...withSig(SIG), 'content-type': 'text/plain' },
      status: 415,
      error: 'unsupported_media_type',
      message: /application\/json/,
    },
    {
      name: 'form-encoded',
      body: BODY,
      headers: { ...withSig(SIG), 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
      error: 'unsupported_media_type',
      message: /application\/json/,
    },
    {
      name: 'a content type that merely starts with application/json',
      body: BODY,
      headers: { ...withSig(SIG), 'content-type': 'application/jsonp' },
      status: 415,
      error: 'unsupported_media_type',
      message: /application\/json/,
    },
    {
      name: 'no content type',
      body: BODY,
      headers: { 'cronofy-hmac-sha256': SIG },
      status: 415,
      error: 'unsupported_media_type',
      message: /application\/json/,
    },
    {
      name: 'Content-Length larger than the body sent',
      body: BODY,
      injectOnly: true,
      headers: { ...withSig(SIG), 'content-length': String(BODY.length + 50) },
      status: 400,
      error: 'invalid_content_length',
      message: /Content-Length/,
    },

    // --- signed but malformed bodies ------------------------------------------------------------
    {
      name: 'invalid JSON (signed)',
      body: '{"notification":',
      headers: signed('{"notification":'),
      ...invalidBody(/not valid JSON/),
    },
    { name: 'empty body (signed)', body: '', headers: signed(''), ...invalidBody(/empty/) },
    {
      name: 'invalid UTF-8 (signed)',
      body: invalidUtf8,
      headers: signed(invalidUtf8),
      ...invalidBody(/UTF-8/),
    },
    { name: 'JSON array body', body: '[1,2]', headers: signed('[1,2]'), ...invalidBody(/must be object/) },
    { name: 'JSON null body', body: 'null', headers: signed('null'), ...invalidBody(/must be object/) },
    {
      name: 'missing notification',
      body: '{"channel":{"channel_id":"c"}}',
      headers: signed('{"channel":{"channel_id":"c"}}'),
      ...invalidBody(/notification/),
    },
    {
      name: 'missing channel',
      body: '{"notification":{"type":"change"}}',
      headers: signed('{"notification":{"type":"change"}}'),
      ...invalidBody(/channel/),
    },
    {
      name: 'missing type',
      body: notification({}),
      headers: signed(notification({})),
      ...invalidBody(/'type'/),
    },
    {
      name: 'missing channel_id',
      body: notification({ type: 'change' }, {}),
      headers: signed(notification({ type: 'change' }, {})),
      ...invalidBody(/channel_id/),
    },
    {
      name: 'type is a number',
      body: notification({ type: 7 }),
      headers: signed(notification({ type: 7 })),
      ...invalidBody(/\/notification\/type must be string/),
    },
    {
      name: 'type is empty',
      body: notification({ type: '' }),
      headers: signed(notification({ type: '' })),
      ...invalidBody(/\/notification\/type/),
    },
    {
      name: 'channel is a string',
      body: '{"notification":{"type":"change"},"channel":"chn_1"}',
      headers: signed('{"notification":{"type":"change"},"channel":"chn_1"}'),
      ...invalidBody(/\/channel must be object/),
    },
    {
      name: 'changes_since not a time',
      body: notification({ type: 'change', changes_since: 'yesterday' }),
      headers: signed(notification({ type: 'change', changes_since: 'yesterday' })),
      ...invalidBody(/changes_since must match format/),
    },
    {
      name: 'changes_since an impossible time',
      body: notification({ type: 'change', changes_since: '2026-02-30T25:61:00Z' }),
      headers: signed(notification({ type: 'change', changes_since: '2026-02-30T25:61:00Z' })),
      ...invalidBody(/changes_since/),
    },
    {
      name: 'changes_since a number',
      body: notification({ type: 'change', changes_since: 1767225600 }),
      headers: signed(notification({ type: 'change', changes_since: 1767225600 })),
      ...invalidBody(/changes_since must be string/),
    },

    // --- signed for another account (channel.callback_url binds the body to its account) --------
    {
      name: 'a push for account B replayed to account A',
      body: changeBody({ accountId: `${account}-b` }),
      headers: signed(changeBody({ accountId: `${account}-b` })),
      ...mismatch,
    },
    {
      name: 'no callback_url',
      body: noCallback,
      headers: signed(noCallback),
      ...invalidBody(/callback_url/),
    },
    {
      name: 'callback_url empty',
      body: emptyCallback,
      headers: signed(emptyCallback),
      ...invalidBody(/callback_url/),
    },
    {
      name: 'callback_url not one of ours (no notifications path)',
      body: foreignCallback,
      headers: signed(foreignCallback),
      ...mismatch,
    },
    {
      name: 'callback_url naming the account with a suffix',
      body: longerCallback,
      headers: signed(longerCallback),
      ...mismatch,
    },
    {
      name: 'callback_url with a path after the account',
      body: trailingCallback,
      headers: signed(trailingCallback),
      ...mismatch,
    },
    {
      name: 'callback_url not a URL',
      body: notUrlCallback,
      headers: signed(notUrlCallback),
      ...mismatch,
    },
    {
      name: 'unknown type for another account: refused too',
      body: otherUnknown,
      headers: signed(otherUnknown),
      ...mismatch,
    },
    {
      name: 'callback_url on another host and under a proxy prefix: only the path suffix counts',
      body: proxiedCallback,
      headers: signed(proxiedCallback),
      status: 202,
      signalled: true,
    },

    // --- signed, valid, accepted ----------------------------------------------------------------
    {
      name: 'unknown type: 202, not signalled',
      body: notification({ type: 'calendar_exploded' }),
      headers: signed(notification({ type: 'calendar_exploded' })),
      status: 202,
    },
    {
      name: 'documented third-party type gdpr_requested: 202, not signalled',
      body: notification({ type: 'gdpr_requested' }),
      headers: signed(notification({ type: 'gdpr_requested' })),
      status: 202,
    },
    {
      name: 'captured 2026 shape: channel.scheduling_conversations, Cronofy User-Agent',
      body: captured2026,
      headers: { ...signed(captured2026), 'user-agent': 'Cronofy (https://www.cronofy.com/support/)' },
      status: 202,
      signalled: true,
    },
    {
      name: 'conferencing_profile_disconnected: 202, not signalled',
      body: notification({ type: 'conferencing_profile_disconnected' }),
      headers: signed(notification({ type: 'conferencing_profile_disconnected' })),
      status: 202,
    },
    {
      name: 'extra fields accepted',
      body: extraFields,
      headers: signed(extraFields),
      status: 202,
      signalled: true,
    },
    { name: 'unicode in fields', body: unicode, headers: signed(unicode), status: 202, signalled: true },
    { name: 'deeply nested extra field', body: deep, headers: signed(deep), status: 202, signalled: true },
    {
      name: '__proto__ and constructor keys',
      body: protoBody,
      headers: signed(protoBody),
      status: 202,
      signalled: true,
    },

    // --- the account id in the path --------------------------------------------------------------
    {
      name: 'very long account id (129 characters)',
      segment: 'a'.repeat(129),
      body: BODY,
      headers: withSig(SIG),
      ...badAccount,
    },
    {
      name: 'very long account id (600 characters, over the router limit)',
      segment: 'a'.repeat(600),
      body: BODY,
      headers: withSig(SIG),
      status: 400,
      error: 'invalid_url',
      message: /too long/,
    },
    {
      name: 'account id "%2e%2e"',
      segment: '%2e%2e',
      rawPath: true,
      decodedAccountId: '..',
      body: BODY,
      headers: withSig(SIG),
      ...badAccount,
    },
    {
      name: 'account id "%2E."',
      segment: '%2E.',
      rawPath: true,
      decodedAccountId: '..',
      body: BODY,
      headers: withSig(SIG),
      ...badAccount,
    },
    {
      name: 'account id "." (raw)',
      segment: '.',
      rawPath: true,
      body: BODY,
      headers: withSig(SIG),
      ...badAccount,
    },
    {
      name: 'encoded traversal "..%2f..%2fadmin"',
      segment: '..%2f..%2fadmin',
      rawPath: true,
      decodedAccountId: '../../admin',
      body: BODY,
      headers: withSig(SIG),
      ...badAccount,
    },
    {
      name: 'encoded slash "a%2Fb"',
      segment: 'a%2Fb',
      decodedAccountId: 'a/b',
      body: BODY,
      headers: withSig(SIG),
      ...badAccount,
    },
    {
      name: 'encoded NUL',
      segment: 'acc%00x',
      decodedAccountId: 'acc\u0000x',
      body: BODY,
      headers: withSig(SIG),
      ...badAccount,
    },
    {
      name: 'unicode account id',
      segment: encodeURIComponent('äccount-ü'),
      decodedAccountId: 'äccount-ü',
      body: BODY,
      headers: withSig(SIG),
      ...badAccount,
    },
    {
      name: 'invalid percent-encoding "%zz"',
      segment: 'acc%zz',
      body: BODY,
      headers: withSig(SIG),
      status: 400,
      error: 'invalid_url',
      message: /percent-encoded/,
    },
    {
      name: 'raw "../" in the path does not reach the receiver',
      segment: '../../admin',
      rawPath: true,
      decodedAccountId: '../../admin',
      body: BODY,
      headers: withSig(SIG),
      status: 404,
      error: 'not_found',
      message: /no route POST/,
    },
    {
      name: 'GET on the callback URL',
      method: 'GET',
      body: '',
      headers: {},
      status: 404,
      error: 'not_found',
      message: /no route GET/,
    },
  ];
}

/** Every header value and secret that must never come back in a response or a log line. */
export const sensitive = (account: string): string[] => [
  NEW_SECRET,
  OLD_SECRET,
  WRONG_SECRET,
  sign(changeBody({ accountId: account })),
];
