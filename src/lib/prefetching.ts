/**
 * Yields what `source` yields, asking it for the next item as soon as one is handed out: Cronofy
 * is read for page N+1 while page N is written to MongoDB. At most one item is read ahead, so
 * a failed write stops the read after that one page. The resume cursor is still only what was
 * written (the caller heartbeats after each write).
 */
export async function* prefetching<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  try {
    while (true) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      // Handled here so a read failing while the caller writes is not an unhandled rejection;
      // the caller sees it on its next step.
      next.catch(() => undefined);
      yield r.value;
    }
  } finally {
    // Stopped early (a write failed): the source is closed once its read ahead settles, without
    // holding up the caller's error for it.
    void next.then(
      () => it.return?.(),
      () => undefined,
    );
  }
}
