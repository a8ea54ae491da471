import { useEffect, useState, useSyncExternalStore } from 'react';

/** The current time, refreshed every `intervalMs` and when the tab becomes visible again. */
export function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const tick = () => setNow(Date.now());
    const id = window.setInterval(tick, intervalMs);
    // Background tabs throttle timers; catch up as soon as the learner looks.
    const onVisible = () => document.visibilityState === 'visible' && tick();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.clearInterval(id);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [intervalMs]);
  return now;
}

export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (onChange) => {
      const list = window.matchMedia(query);
      list.addEventListener('change', onChange);
      return () => list.removeEventListener('change', onChange);
    },
    () => window.matchMedia(query).matches,
  );
}

// setTimeout fires at once for delays beyond 2^31-1 ms (~24.8 days).
const MAX_DELAY = 2 ** 31 - 1;

/** Calls `callback` just after each future instant in `at` (epoch ms). */
export function useAtInstants(at: readonly number[], callback: () => void): void {
  const key = at.join(',');
  useEffect(() => {
    const now = Date.now();
    // One second late, so the server's clock is past the boundary too.
    const ids = key
      .split(',')
      .map((ms) => Number(ms) - now + 1000)
      .filter((delay) => delay > 0 && delay <= MAX_DELAY)
      .map((delay) => window.setTimeout(callback, delay));
    return () => ids.forEach((id) => window.clearTimeout(id));
  }, [key, callback]);
}
