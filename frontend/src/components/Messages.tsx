import { useEffect, useRef, useSyncExternalStore, type ReactNode } from 'react';
import type { Problem } from '../booking/errors';

// One polite live region for the whole app, rendered before any message:
// screen readers announce changes to a region, not text that arrives with it.

let current: string | null = null;
const listeners = new Set<() => void>();

/** Shows (or with null, clears) the sentence in the status region. */
export function showStatus(message: string | null): void {
  current = message;
  listeners.forEach((notify) => notify());
}

export function StatusRegion() {
  const message = useSyncExternalStore(
    (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    () => current,
  );
  return (
    <p role="status" className={message ? 'status-message' : 'status-message empty'} data-testid="status">
      {message}
    </p>
  );
}

/**
 * An error the learner must notice; role=alert announces it at once. With
 * `focus` it also takes focus, for errors that replace what was focused
 * (a closed dialog) or may be scrolled out of view.
 */
export function ErrorMessage({ problem, focus = false, children }: { problem: Problem; focus?: boolean; children?: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (focus) ref.current?.focus();
  }, [focus, problem]);
  return (
    <div role="alert" className="error-message" ref={ref} tabIndex={focus ? -1 : undefined}>
      <p>{problem.message}</p>
      {problem.detail && <p className="detail">{problem.detail}</p>}
      {children}
    </div>
  );
}
