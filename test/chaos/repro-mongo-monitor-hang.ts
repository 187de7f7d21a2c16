/**
 * Reproduction (not a test; `npx tsx test/chaos/repro-mongo-monitor-hang.ts`, a few minutes) of a
 * MongoClient that never recovers after its server restarts, found by the chaos benchmark: a
 * worker then fails every activity with `MongoServerSelectionError: connection N to … closed`
 * until the process is restarted.
 *
 * What happens (mongodb driver 6.22, against FerretDB 1.24): an application connection fails as the
 * server goes down, the server is marked Unknown and an immediate monitor check starts on the
 * monitor's connection, which is closing at that very moment. That check never settles (no
 * heartbeat succeeded/failed event ever follows its `serverHeartbeatStarted`, no socket is left),
 * so the monitor stays in its "monitoring" state and every later check is skipped: the server
 * remains Unknown forever although the database is back. Roughly one restart in 10-25 under load.
 *
 * The script restarts the server under 30 concurrent readers/writers until a restart is not
 * recovered from within 20 s, then prints the monitor's state and the last SDAM events.
 */
import { MongoClient } from 'mongodb';
import { startMongo } from '../../scripts/lib/servers.js';

const m = await startMongo({ kind: 'ferretdb' });
const client = new MongoClient(m.uri, { serverSelectionTimeoutMS: 5000 });
const events: string[] = [];
const ts = () => new Date().toISOString().slice(14, 23);
client.on('serverDescriptionChanged', (e) =>
  events.push(
    `${ts()} ${e.previousDescription.type} -> ${e.newDescription.type} ${e.newDescription.error?.message ?? ''}`,
  ),
);
client.on('serverHeartbeatStarted', () => events.push(`${ts()} heartbeat started`));
client.on('serverHeartbeatSucceeded', () => events.push(`${ts()} heartbeat succeeded`));
client.on('serverHeartbeatFailed', (e) => events.push(`${ts()} heartbeat failed: ${e.failure.message}`));
await client.connect();
const col = client.db('repro').collection('docs');
await col.insertOne({ a: 1 });

let stop = false;
const load = Array.from({ length: 30 }, async (_, k) => {
  while (!stop) {
    try {
      await col.updateOne({ a: 1 }, { $set: { k } });
      await col.find({}).toArray();
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
});

let stuck = false;
for (let round = 1; round <= 40 && !stuck; round++) {
  await new Promise((r) => setTimeout(r, 3000 + Math.random() * 4000));
  await m.stop();
  await new Promise((r) => setTimeout(r, 2000));
  await m.start();
  let ok = false;
  for (let i = 0; i < 4 && !ok; i++)
    ok = await col.findOne({}).then(
      () => true,
      () => false,
    );
  console.log(`restart ${round}: ${ok ? 'recovered' : 'NOT recovered within 20 s'}`);
  stuck = !ok;
}
if (stuck) {
  // Driver internals, for the report only.
  const topology = (client as unknown as { topology: { s: { servers: Map<string, unknown> } } }).topology;
  for (const [address, server] of topology.s.servers) {
    const s = server as {
      description: { type: string };
      monitor?: {
        s: { state: string };
        connection?: { closed: boolean } | null;
        monitorId?: { isExecutionInProgress: boolean };
      };
    };
    console.log(
      `${address}: ${s.description.type}; monitor state ${s.monitor?.s.state}, ` +
        `check in progress ${s.monitor?.monitorId?.isExecutionInProgress}, monitor connection closed ${s.monitor?.connection?.closed}`,
    );
  }
  console.log(events.slice(-12).join('\n'));
}
stop = true;
await Promise.all(load);
await client.close();
await m.stop();
process.exit(stuck ? 1 : 0);
