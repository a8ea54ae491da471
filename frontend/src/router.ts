import { useSyncExternalStore } from 'react';

// History API routing for three pages does not need a router library.
// The Go server answers index.html for any unknown path, so deep links work.

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  return () => window.removeEventListener('popstate', onChange);
}

export function usePathname(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

export type Route =
  | { page: 'home' }
  | { page: 'exam'; code: string }
  | { page: 'not-found' };

/** Maps a pathname to a page. Exam codes are URL-decoded and must be non-empty. */
export function matchRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { page: 'home' };
  const exam = /^\/exams\/([^/]+)\/?$/.exec(pathname);
  if (exam?.[1]) {
    try {
      const code = decodeURIComponent(exam[1]);
      if (code.trim() !== '') return { page: 'exam', code };
    } catch {
      // Malformed %-escape: treat as an unknown page.
    }
  }
  return { page: 'not-found' };
}
