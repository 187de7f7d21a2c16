/**
 * The one way we bound a call in time: `withTimeout(work, ms, onTimeout)` settles like `work`, or
 * with `onTimeout()` once `ms` have passed. `onTimeout` throws to fail the call (the receiver's
 * 503, the admin API's "Temporal did not answer") or returns a fallback value (readiness: `false`).
 *
 * `work` is not cancelled: it is left to settle unobserved, and a late rejection is swallowed here
 * so it never becomes an unhandled rejection. Pass a function rather than a promise when the
 * call's synchronous part (cold paths on a first call) must count against the limit too: the clock
 * then starts before it runs.
 */

/** What `onTimeout` throws when the caller has nothing more specific to say. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export function withTimeout<T, U = never>(
  work: Promise<T> | (() => Promise<T>),
  ms: number,
  onTimeout: () => U | Promise<U>,
): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  let p: Promise<T>;
  try {
    p = typeof work === 'function' ? work() : work;
  } catch (err) {
    clearTimeout(timer);
    return Promise.reject(err);
  }
  p.catch(() => undefined);
  return Promise.race([p, timedOut]).finally(() => clearTimeout(timer));
}
