/**
 * Demo calendar changes for local mode: creates, updates, moves and deletes events of one
 * simulator account every few seconds, through the simulator's `/_sim/` control API, as a user
 * editing their calendar would. Each change makes the simulator push a signed `change`
 * notification to the service, so the effect shows up in MongoDB and in the account workflow's
 * history in the Temporal Web UI.
 *
 *   npx tsx scripts/demo-changes.ts                 # every 5 s, against the running `npm run dev`
 *   npx tsx scripts/demo-changes.ts --count 1       # one change, then exit
 *   npx tsx scripts/demo-changes.ts --every 2s --account demo --simulator http://127.0.0.1:3001
 *
 * Without flags it reads the simulator URL, account and calendars from `.data/dev/stack.json`,
 * which `npm run dev` writes while it runs. `npm run dev -- --demo` runs the same generator.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/lib/duration.js';

export interface DemoTarget {
  /** Simulator base URL, e.g. `http://127.0.0.1:3001`. */
  simulatorUrl: string;
  accountId: string;
  /** Calendars to create events in (they must be the account's calendars in the simulator). */
  calendarIds: string[];
}

export type DemoChangeKind = 'create' | 'update' | 'move' | 'delete';

export interface DemoChange {
  kind: DemoChangeKind;
  eventUid: string;
  calendarId: string;
  summary: string;
  start: string;
  end: string;
}

interface SimEvent {
  event_uid: string;
  calendar_id: string;
  summary: string;
  description?: string;
  location?: { description?: string };
  start: string | { time: string; tzid: string };
  end: string | { time: string; tzid: string };
}

const SUMMARIES = [
  'Design review',
  'Team standup',
  '1:1 with Sam',
  'Customer call',
  'Sprint planning',
  'Focus time',
  'Lunch with Alex',
  'Incident retro',
  'Hiring panel',
  'Roadmap sync',
];
const ROOMS = ['Room 1', 'Room 2', 'Atrium', 'Video call', 'Cafe'];
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Bounds on the number of live events the generator keeps, so every kind of change keeps happening. */
const MIN_LIVE = 3;
const MAX_LIVE = 10;

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** `YYYY-MM-DDTHH:MM:SSZ`, as Cronofy writes times. */
function cronofyTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function timeOf(value: SimEvent['start']): string {
  return typeof value === 'string' ? value : value.time;
}

async function sim<T>(target: DemoTarget, method: string, route: string, body?: unknown): Promise<T> {
  const url = `${target.simulatorUrl}/_sim/accounts/${encodeURIComponent(target.accountId)}${route}`;
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`simulator ${method} ${route}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The account's live (not deleted) events in the simulator. */
export async function liveEvents(target: DemoTarget): Promise<SimEvent[]> {
  return (await sim<{ events: SimEvent[] }>(target, 'GET', '/events')).events;
}

/** A new event some working hour in the next two weeks (UTC). */
export function newEvent(target: DemoTarget, now: number, random: () => number = Math.random) {
  const day = Math.floor(now / DAY) * DAY + (1 + Math.floor(random() * 14)) * DAY;
  const start = day + (8 + Math.floor(random() * 9)) * HOUR + pick([0, 30], random) * MINUTE;
  const minutes = pick([30, 45, 60, 90], random);
  return {
    calendar_id: pick(target.calendarIds, random),
    event_uid: `evt_demo_${Math.floor(random() * 36 ** 8)
      .toString(36)
      .padStart(8, '0')}`,
    summary: pick(SUMMARIES, random),
    description: 'Made by the local-mode demo generator',
    location: { description: pick(ROOMS, random) },
    start: cronofyTime(start),
    end: cronofyTime(start + minutes * MINUTE),
  };
}

/** Which change to make next, given how many live events there are. */
export function chooseKind(live: number, random: () => number = Math.random): DemoChangeKind {
  if (live < MIN_LIVE) return 'create';
  if (live >= MAX_LIVE) return 'delete';
  const r = random();
  if (r < 0.3) return 'create';
  if (r < 0.6) return 'update';
  if (r < 0.85) return 'move';
  return 'delete';
}

/** Makes one change in the simulator (which pushes a `change` notification) and describes it. */
export async function makeDemoChange(
  target: DemoTarget,
  opts: { kind?: DemoChangeKind; random?: () => number; now?: number } = {},
): Promise<DemoChange> {
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now();
  const events = await liveEvents(target);
  const kind =
    opts.kind && (opts.kind === 'create' || events.length > 0)
      ? opts.kind
      : chooseKind(events.length, random);

  if (kind === 'create') {
    const input = newEvent(target, now, random);
    await sim(target, 'POST', '/events', input);
    return {
      kind,
      eventUid: input.event_uid,
      calendarId: input.calendar_id,
      summary: input.summary,
      start: input.start,
      end: input.end,
    };
  }

  const event = pick(events, random);
  if (kind === 'delete') {
    await sim(target, 'DELETE', `/events/${encodeURIComponent(event.event_uid)}`);
    return {
      kind,
      eventUid: event.event_uid,
      calendarId: event.calendar_id,
      summary: event.summary,
      start: timeOf(event.start),
      end: timeOf(event.end),
    };
  }

  let start = Date.parse(timeOf(event.start));
  let end = Date.parse(timeOf(event.end));
  let summary = event.summary;
  let location = event.location;
  if (kind === 'move') {
    const shift = pick([-2 * HOUR, -HOUR, HOUR, 2 * HOUR, DAY, -DAY], random);
    start += shift;
    end += shift;
  } else {
    summary = pick(SUMMARIES, random);
    location = { description: pick(ROOMS, random) };
  }
  const input = {
    calendar_id: event.calendar_id,
    event_uid: event.event_uid,
    summary,
    description: event.description ?? '',
    location,
    start: cronofyTime(start),
    end: cronofyTime(end),
  };
  await sim(target, 'POST', '/events', input);
  return {
    kind,
    eventUid: input.event_uid,
    calendarId: input.calendar_id,
    summary,
    start: input.start,
    end: input.end,
  };
}

export function describeChange(c: DemoChange): string {
  const at = new Date().toISOString().slice(11, 19);
  return `${at} ${c.kind.padEnd(6)} ${c.eventUid}  "${c.summary}"  ${c.start} .. ${c.end}  (${c.calendarId})`;
}

export interface DemoChanges {
  /** Changes made so far. */
  readonly count: number;
  /** Stops after the change in progress, if any. */
  stop(): Promise<void>;
}

/**
 * Makes a change now and then every `everyMs`, `count` times (default: until stopped). Errors
 * are reported through `log` and do not stop the generator (the simulator may be restarting).
 */
export function startDemoChanges(
  target: DemoTarget,
  opts: { everyMs?: number; count?: number; log?: (line: string) => void; onDone?: () => void } = {},
): DemoChanges {
  const everyMs = opts.everyMs ?? 5_000;
  const log = opts.log ?? ((line: string) => console.log(line));
  let count = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const tick = () => {
    current = makeDemoChange(target)
      .then((change) => {
        count += 1;
        log(describeChange(change));
      })
      .catch((err: unknown) => log(`demo change failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        if (stopped) return;
        if (opts.count !== undefined && count >= opts.count) {
          stopped = true;
          opts.onDone?.();
          return;
        }
        timer = setTimeout(tick, everyMs);
      });
  };
  tick();

  return {
    get count() {
      return count;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}

/** Where `npm run dev` describes the running stack. */
export function defaultStackFile(): string {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  return path.join(repoRoot, '.data', 'dev', 'stack.json');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      simulator: { type: 'string' },
      account: { type: 'string' },
      calendar: { type: 'string', multiple: true },
      every: { type: 'string' },
      count: { type: 'string' },
      stack: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'usage: tsx scripts/demo-changes.ts [--every 5s] [--count N] [--account demo] [--calendar ID]... [--simulator URL] [--stack FILE]',
    );
    return;
  }
  let stack: { simulator?: { url?: string }; demo?: { accountId?: string; calendarIds?: string[] } } = {};
  const stackFile = values.stack ?? defaultStackFile();
  const needStack = !values.simulator || !values.calendar?.length;
  if (needStack) {
    try {
      stack = JSON.parse(readFileSync(stackFile, 'utf8'));
    } catch {
      throw new Error(
        `${stackFile} not found: start \`npm run dev\` first, or pass --simulator and --calendar`,
      );
    }
  }
  const target: DemoTarget = {
    simulatorUrl: (values.simulator ?? stack.simulator?.url ?? '').replace(/\/+$/, ''),
    accountId: values.account ?? stack.demo?.accountId ?? 'demo',
    calendarIds: values.calendar?.length ? values.calendar : (stack.demo?.calendarIds ?? []),
  };
  if (!target.simulatorUrl || target.calendarIds.length === 0)
    throw new Error('no simulator URL or calendars');
  const everyMs = values.every === undefined ? 5_000 : parseDuration(values.every);
  if (everyMs === undefined || everyMs <= 0)
    throw new Error(`--every: expected a duration such as 5s; got "${values.every}"`);
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && !(Number.isInteger(count) && count > 0))
    throw new Error('--count: expected a positive integer');

  console.error(
    `Changing calendars of "${target.accountId}" on ${target.simulatorUrl}` +
      (count === undefined ? ` every ${everyMs / 1000} s; Ctrl-C to stop.` : ` (${count} change(s)).`),
  );
  const generator = startDemoChanges(target, { everyMs, count, onDone: () => process.exit(0) });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void generator.stop().then(() => process.exit(0)));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
