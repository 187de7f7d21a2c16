/**
 * What the machine and a process are doing: RSS and CPU time of a pid from /proc (Linux), load
 * average, and the one-line machine note each section carries. The machines are shared and noisy,
 * so every section records the load it ran under.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface ProcMemory {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak RSS (VmHWM), bytes. */
  hwm: number;
}

/** RSS and peak RSS of `pid` from /proc/<pid>/status; undefined when unavailable. */
export function procMemory(pid: number | undefined): ProcMemory | undefined {
  if (pid === undefined) return undefined;
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
  } catch {
    return undefined;
  }
}

/** User + system CPU time of `pid` in ms, from /proc/<pid>/stat; undefined when unavailable. */
export function procCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

export function machineNote(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${model} × ${cpus.length} cores, ${memGiB} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** Samples the 1-minute load average while a phase runs; `stop()` gives min / mean / max. */
export function loadSampler(everyMs = 5_000): { stop(): string } {
  const samples: number[] = [os.loadavg()[0]!];
  const timer = setInterval(() => samples.push(os.loadavg()[0]!), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(os.loadavg()[0]!);
      const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
      return `1-min load average ${Math.min(...samples).toFixed(1)}–${Math.max(...samples).toFixed(1)} (mean ${mean.toFixed(1)}) on ${os.cpus().length} cores`;
    },
  };
}
