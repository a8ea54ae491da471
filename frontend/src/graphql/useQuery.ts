import { useCallback, useEffect, useRef, useState } from 'react';
import { GraphQLRequestError, request, type TypedDocument } from './client';

export type QueryState<T> =
  | { status: 'loading' }
  | { status: 'error'; error: unknown }
  | { status: 'done'; data: T };

export interface QueryResult<T> {
  state: QueryState<T>;
  /** Loads again from scratch, showing the loading state (after an error). */
  retry: () => void;
  /** Loads again behind the data on screen (after a change or at a deadline). */
  refetch: () => void;
  /** Replaces the data on screen, e.g. with what a mutation returned. */
  setData: (update: (data: T) => T) => void;
}

const LOADING = { status: 'loading' } as const;

/**
 * Runs a query when the component mounts or its variables change, and again
 * on retry() or refetch(). Aborts the request in flight when superseded or unmounted.
 */
export function useQuery<TResult, TVariables>(
  document: TypedDocument<TResult, TVariables>,
  variables: TVariables,
): QueryResult<TResult> {
  // Variables are compared by value so callers can pass object literals.
  const key = JSON.stringify(variables);
  // The state remembers its variables: new variables must never show old data.
  const [state, setState] = useState<{ key: string; value: QueryState<TResult> }>({ key, value: LOADING });
  const [attempt, setAttempt] = useState(0);
  const quiet = useRef(false);

  useEffect(() => {
    const controller = new AbortController();
    const silent = quiet.current;
    quiet.current = false;
    if (!silent) setState({ key, value: LOADING });
    request(document, JSON.parse(key) as TVariables, { signal: controller.signal }).then(
      (data) => setState({ key, value: { status: 'done', data } }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        // A failed background refresh keeps the data on screen, unless the session is gone.
        const ended = error instanceof GraphQLRequestError && error.hasCode('UNAUTHENTICATED');
        setState((prev) =>
          silent && !ended && prev.key === key && prev.value.status === 'done'
            ? prev
            : { key, value: { status: 'error', error } },
        );
      },
    );
    return () => controller.abort();
  }, [document, key, attempt]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  const refetch = useCallback(() => {
    quiet.current = true;
    setAttempt((n) => n + 1);
  }, []);
  const setData = useCallback(
    (update: (data: TResult) => TResult) =>
      setState((prev) =>
        prev.value.status === 'done' ? { key: prev.key, value: { status: 'done', data: update(prev.value.data) } } : prev,
      ),
    [],
  );
  return { state: state.key === key ? state.value : LOADING, retry, refetch, setData };
}
