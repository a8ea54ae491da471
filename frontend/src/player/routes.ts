// The player's pages, matched before the app's own routes so that adding them
// needs one line in App.tsx.

export type PlayerRoute =
  | { page: 'attempt'; id: string }
  | { page: 'attempt-result'; id: string }
  | { page: 'start'; code: string };

export const playerPaths = {
  attempt: (id: string) => `/attempts/${encodeURIComponent(id)}`,
  result: (id: string) => `/attempts/${encodeURIComponent(id)}/result`,
  start: (code: string) => `/exams/${encodeURIComponent(code)}/start`,
  dashboard: (code: string) => `/exams/${encodeURIComponent(code)}`,
  /** Served by the Go server (signs in to the course platform and redirects): link with a plain <a>. */
  course: (code: string) => `/exams/${encodeURIComponent(code)}/course`,
};

function decode(segment: string | undefined): string | null {
  if (segment === undefined) return null;
  try {
    const value = decodeURIComponent(segment);
    return value.trim() === '' ? null : value;
  } catch {
    return null; // malformed %-escape: not ours
  }
}

/** The player page for `pathname`, or null when it is another page's. */
export function matchPlayerRoute(pathname: string): PlayerRoute | null {
  const attempt = /^\/attempts\/([^/]+)(\/result)?\/?$/.exec(pathname);
  if (attempt) {
    const id = decode(attempt[1]);
    if (id === null) return null;
    return attempt[2] ? { page: 'attempt-result', id } : { page: 'attempt', id };
  }
  const start = /^\/exams\/([^/]+)\/start\/?$/.exec(pathname);
  const code = decode(start?.[1]);
  return code === null ? null : { page: 'start', code };
}
