/**
 * The readable summary operators see as "Current Details" in the Temporal Web UI. Pure.
 */
import type { AccountStatus } from './messages.js';

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
  return lines.join('\n');
}
