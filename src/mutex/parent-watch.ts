/**
 * Parent-death detection for lock helpers: a helper whose parent (ctdbd)
 * died must give the lock up, or the cluster stays locked by an orphan.
 */

/** True when `pid` no longer exists (kill(pid, 0) fails with ESRCH). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Calls `onGone` once when the process's original parent dies (checked every
 * `intervalMs`, 5 s by default) or the process is re-parented. Returns a
 * function that stops watching. The timer keeps the event loop alive.
 */
export function watchParent(onGone: (ppid: number) => void, intervalMs = 5000): () => void {
  const ppid = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== ppid || processGone(ppid)) {
      clearInterval(timer);
      onGone(ppid);
    }
  }, intervalMs);
  return () => clearInterval(timer);
}
