/**
 * The account's status, projected from the workflow state: the `status` query result (and the body
 * of `GET /accounts/:accountId`), and the readable summary operators see as "Current Details" in
 * the Temporal Web UI. Pure.
 */
import type { SyncKind, SyncTimings } from '../domain.js';
import { debounceDueAt } from './debounce.js';
import type { AccountStatus } from './messages.js';
import { type AccountData, channelCheckDueAt } from './state.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The `status` query result (and `GET /accounts/:accountId`). */
export function statusOf(d: AccountData, running: SyncKind | null, t: SyncTimings): AccountStatus {
  return {
    accountId: d.accountId,
    state: d.state,
    channel: {
      id: d.channelId,
      lastNotificationAt: iso(d.lastNotificationAt),
      lastCheckedAt: iso(d.channelConfirmedAt),
    },
    lastSyncs: d.lastSyncs,
    lastSuccessfulSyncAt: d.lastSuccessfulSyncAt,
    watermark: d.watermark,
    pending: {
      notifications: d.pending.count,
      earliestChangesSince: d.pending.earliestChangesSince,
      firstPendingAt: iso(d.pending.firstAt),
      requested: d.requests.map((r) => r.mode),
      syncDueAt: iso(debounceDueAt(d.pending, { quietMs: t.debounceQuietMs, maxMs: t.debounceMaxMs })),
    },
    running,
    nextFullSyncAt: iso(d.nextFullSyncAt),
    nextWindowEdgeSyncAt: iso(d.nextWindowEdgeAt),
    nextChannelCheckAt: iso(channelCheckDueAt(d, t)),
    failingSince: iso(d.failingSince),
    lastError: d.lastError,
    profileDisconnected: d.profileDisconnected,
    profiles: d.profiles ?? null,
  };
}

/** What the loop is waiting for, for the timer's label in the Web UI. */
export function nextDueLabel(s: AccountStatus): string {
  const due: [string, string | null][] = [
    ['debounced sync', s.pending.syncDueAt],
    ['full sync', s.nextFullSyncAt],
    ['window-edge sync', s.nextWindowEdgeSyncAt],
    ['channel check', s.nextChannelCheckAt],
  ];
  const next = due
    .filter((d): d is [string, string] => d[1] !== null)
    .sort((a, b) => a[1].localeCompare(b[1]))[0];
  return next ? next[0] : 'a message';
}

const dash = (v: string | null | undefined): string => v ?? '—';

export function renderDetails(s: AccountStatus): string {
  const lines = [
    `**${s.accountId}** — state \`${s.state}\`${s.running ? ` · running **${s.running}** sync` : ''}`,
    '',
    `| | |`,
    `|---|---|`,
    `| channel | ${dash(s.channel.id)} |`,
    `| last notification | ${dash(s.channel.lastNotificationAt)} |`,
    `| last successful sync | ${dash(s.lastSuccessfulSyncAt)} |`,
  ];
  for (const [kind, last] of Object.entries(s.lastSyncs)) {
    if (last)
      lines.push(
        `| last ${kind} | ${last.at} (${last.upserted} upserted, ${last.deleted} deleted, ${last.pages} pages) |`,
      );
  }
  lines.push(
    `| pending | ${s.pending.notifications} notification(s)${s.pending.syncDueAt ? `, sync due ${s.pending.syncDueAt}` : ''}${s.pending.requested.length ? `, requested: ${s.pending.requested.join(', ')}` : ''} |`,
    `| next full sync | ${dash(s.nextFullSyncAt)} |`,
    `| next window-edge sync | ${dash(s.nextWindowEdgeSyncAt)} |`,
    `| next channel check | ${dash(s.nextChannelCheckAt)} |`,
  );
  if (s.lastError)
    lines.push(`| last error | ${s.lastError.at}: ${s.lastError.message.replace(/\|/g, '\\|')} |`);
  if (s.failingSince) lines.push(`| failing since | ${s.failingSince} |`);
  if (s.profileDisconnected) lines.push(`| profile disconnected | ${s.profileDisconnected.at} |`);
  for (const p of s.profiles ?? []) {
    const name = `${p.providerName} ${p.profileName ?? p.profileId}`;
    lines.push(
      `| profile ${name} | ${p.connected ? 'connected' : `**disconnected**${p.relinkUrl ? ` — [relink](${p.relinkUrl})` : ''}`} |`,
    );
  }
  return lines.join('\n');
}
