import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { language, t } from '../i18n';

// A tiny GraphQL-over-HTTP client. The SPA runs one query per page, so a
// typed fetch wrapper is all it needs; no cache, no extra dependency.

/** A generated operation: its text plus the result and variable types. */
export type TypedDocument<TResult, TVariables> = DocumentTypeDecoration<TResult, TVariables> & {
  toString(): string;
};

/** One entry of the response's `errors` array. */
export interface GraphQLErrorItem {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string; [key: string]: unknown };
}

/** Why a request failed: the server's codes, or our own for transport failures. */
export type FailureKind = 'network' | 'http' | 'graphql';


export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    readonly errors: readonly GraphQLErrorItem[] = [],
    /** Partial data returned alongside the errors, if any. */
    readonly data: unknown = null,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }

  /** The `extensions.code` values the server sent (e.g. UNAUTHENTICATED). */
  get codes(): string[] {
    return this.errors.flatMap((e) => (e.extensions?.code ? [e.extensions.code] : []));
  }

  hasCode(code: string): boolean {
    return this.codes.includes(code);
  }
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Injected in unit tests; defaults to the browser's fetch. */
  fetch?: typeof fetch;
  endpoint?: string;
}

/**
 * Runs an operation against /graphql with the session cookie. Resolves with
 * `data` only when the server reported no errors; otherwise throws a
 * GraphQLRequestError whose message is fit to show the learner.
 */
export async function request<TResult, TVariables>(
  document: TypedDocument<TResult, TVariables>,
  variables: TVariables,
  { signal, fetch: fetchImpl = globalThis.fetch, endpoint = '/graphql' }: RequestOptions = {},
): Promise<TResult> {
  let response: Response;
  try {
    response = await fetchImpl(endpoint, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ query: document.toString(), variables }),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err; // the caller gave up; not a failure to report
    throw new GraphQLRequestError(t('err.network'), 'network');
  }

  // GraphQL servers may answer errors with 4xx and a JSON body, so read the
  // body whatever the status and only fall back to the status when it is unusable.
  const body = await readBody(response);
  const errors = Array.isArray(body?.errors) ? (body.errors as GraphQLErrorItem[]) : [];
  if (errors.length > 0) {
    const first = errors.find((e) => typeof e?.message === 'string' && e.message !== '');
    throw new GraphQLRequestError(
      first?.message ?? t('err.generic'),
      'graphql',
      errors,
      body?.data ?? null,
      response.status,
    );
  }
  if (!response.ok || body === null || body.data === undefined || body.data === null) {
    throw new GraphQLRequestError(t('err.generic'), 'http', [], null, response.status);
  }
  return body.data as TResult;
}

/**
 * The server's message for the learner, or `fallback` when there is none
 * or the page is not in English: the server words its messages in English
 * only, and a page never mixes languages.
 */
export function learnerMessage(error: GraphQLRequestError, fallback: string): string {
  return language() === 'en' && error.message ? error.message : fallback;
}

interface ResponseBody {
  data?: unknown;
  errors?: unknown;
}

async function readBody(response: Response): Promise<ResponseBody | null> {
  try {
    const body: unknown = await response.json();
    return typeof body === 'object' && body !== null ? (body as ResponseBody) : null;
  } catch {
    return null; // not JSON: a proxy error page, an empty body…
  }
}
