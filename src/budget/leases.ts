/**
 * `workers`: one lease per running worker process of a task queue, renewed every few seconds, so
 * the workers can split the application's one Cronofy budget between them (./shares.ts).
 * A worker that stops removes its lease; one that dies stops renewing and its lease expires.
 */

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Collection, Db } from 'mongodb';
import { DAY_MS } from '../lib/time.js';

export interface WorkerLeaseDoc {
  _id: string;
  taskQueue: string;
  host: string;
  pid: number;
  startedAt: Date;
  expiresAt: Date;
}

/** Leases expired this long ago are deleted (crashed workers; servers without TTL indexes). */
const FORGET_AFTER_MS = DAY_MS;

export class WorkerLeases {
  readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly startedAt = new Date();

  constructor(
    private readonly coll: Collection<WorkerLeaseDoc>,
    private readonly taskQueue: string,
    readonly ttlMs: number,
  ) {}

  static forDb(db: Db, taskQueue: string, ttlMs: number): WorkerLeases {
    return new WorkerLeases(db.collection<WorkerLeaseDoc>('workers'), taskQueue, ttlMs);
  }

  /** Renews this worker's lease and returns how many workers of the task queue hold a live one. */
  async renew(now = new Date()): Promise<number> {
    await this.coll.updateOne(
      { _id: this.workerId },
      {
        $set: { taskQueue: this.taskQueue, expiresAt: new Date(now.getTime() + this.ttlMs) },
        $setOnInsert: { host: os.hostname(), pid: process.pid, startedAt: this.startedAt },
      },
      { upsert: true },
    );
    await this.coll.deleteMany({ expiresAt: { $lt: new Date(now.getTime() - FORGET_AFTER_MS) } });
    return this.coll.countDocuments({ taskQueue: this.taskQueue, expiresAt: { $gt: now } });
  }

  async release(): Promise<void> {
    await this.coll.deleteOne({ _id: this.workerId });
  }
}
