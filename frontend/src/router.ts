import { useSyncExternalStore } from 'react';

// History API routing for a handful of pages does not need a router library.
// The Go server answers index.html for any unknown path, so deep links work.

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  return () => window.removeEventListener('popstate', onChange);
}

export function usePathname(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

/** What a page hands to the next one: a sentence for its status region. */
interface EntryState {
  status?: string;
  key?: string;
}

/** Goes to `path` inside the app; `status` is shown once on arrival. */
export function navigate(path: string, status?: string): void {
  const state: EntryState = { status, key: Math.random().toString(36).slice(2) };
  window.history.pushState(state, '', path);
  // pushState fires no event; popstate is what usePathname listens to.
  window.dispatchEvent(new PopStateEvent('popstate', { state }));
}

let consumed: string | undefined;

/**
 * The status message the previous page left for this history entry, once:
 * null afterwards (Back, reload), and undefined when asked again for the
 * entry just consumed (React runs effects twice in development).
 */
export function takeArrivalStatus(): string | null | undefined {
  const state = window.history.state as EntryState | null;
  if (typeof state?.status === 'string') {
    consumed = state.key;
    window.history.replaceState({ key: state.key }, '');
    return state.status;
  }
  return state?.key !== undefined && state.key === consumed ? undefined : null;
}

export const paths = {
  exam: (code: string) => `/exams/${encodeURIComponent(code)}`,
  book: (code: string) => `/exams/${encodeURIComponent(code)}/book`,
  reschedule: (code: string, bookingId: string) =>
    `/exams/${encodeURIComponent(code)}/reschedule/${encodeURIComponent(bookingId)}`,
};

export type Route =
  | { page: 'home' }
  | { page: 'exam'; code: string }
  | { page: 'book'; code: string }
  | { page: 'reschedule'; code: string; bookingId: string }
  | { page: 'not-found' };

function decode(segment: string): string | null {
  try {
    const value = decodeURIComponent(segment);
    return value.trim() === '' ? null : value;
  } catch {
    return null; // malformed %-escape: treat as an unknown page
  }
}

/** Maps a pathname to a page. Path segments are URL-decoded and must be non-empty. */
export function matchRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { page: 'home' };
  const m = /^\/exams\/([^/]+)(?:\/(book|reschedule\/([^/]+)))?\/?$/.exec(pathname);
  const code = m?.[1] ? decode(m[1]) : null;
  if (!m || code === null) return { page: 'not-found' };
  if (m[2] === undefined) return { page: 'exam', code };
  if (m[2] === 'book') return { page: 'book', code };
  const bookingId = m[3] ? decode(m[3]) : null;
  return bookingId === null ? { page: 'not-found' } : { page: 'reschedule', code, bookingId };
}
