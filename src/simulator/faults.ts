/**
 * Injected faults: a test (or the `/_sim/faults` control API) asks for the next N matching
 * requests to fail, stall or drop; the Cronofy API takes the first live match per request.
 */
import { randomId } from './state.js';
import type { SimFault, SimFaultHandle } from './types.js';

export interface ActiveFault extends SimFault {
  id: string;
  remainingTimes: number;
}

export class FaultInjector {
  readonly #faults: ActiveFault[] = [];

  inject(fault: SimFault): SimFaultHandle {
    const active: ActiveFault = { ...fault, id: randomId('flt_', 6), remainingTimes: fault.times };
    this.#faults.push(active);
    return {
      id: active.id,
      remaining: () => active.remainingTimes,
      clear: () => {
        active.remainingTimes = 0;
      },
    };
  }

  clear(): void {
    this.#faults.length = 0;
  }

  /** The first fault with uses left that matches the request, one use taken from it. */
  take(method: string, path: string): ActiveFault | undefined {
    const fault = this.#faults.find((f) => {
      if (f.remainingTimes <= 0) return false;
      if (f.method !== undefined && f.method.toUpperCase() !== method) return false;
      if (typeof f.path === 'string') return f.path === path;
      f.path.lastIndex = 0;
      return f.path.test(path);
    });
    if (fault) fault.remainingTimes -= 1;
    return fault;
  }
}

/** A faulty answer's body when the fault names none: Cronofy-like for 422, empty otherwise. */
export function defaultFaultBody(status: number): unknown {
  if (status === 422) return { errors: { base: [{ key: 'errors.invalid', description: 'injected fault' }] } };
  return undefined;
}
