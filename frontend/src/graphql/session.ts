import { useSyncExternalStore } from 'react';

// Any request may learn that the session is gone (UNAUTHENTICATED); the app
// then shows the "session ended" page whatever page asked.

let ended = false;
const listeners = new Set<() => void>();

export function endSession(): void {
  ended = true;
  listeners.forEach((notify) => notify());
}

export function useSessionEnded(): boolean {
  return useSyncExternalStore(
    (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    () => ended,
  );
}
