import { useCallback, useEffect, useState } from 'react';
import { request, type TypedDocument } from './client';

export type QueryState<T> =
  | { status: 'loading' }
  | { status: 'error'; error: unknown }
  | { status: 'done'; data: T };

/**
 * Runs a query when the component mounts or its variables change, and again
 * on retry(). Aborts the request in flight when superseded or unmounted.
 */
export function useQuery<TResult, TVariables>(
  document: TypedDocument<TResult, TVariables>,
  variables: TVariables,
): { state: QueryState<TResult>; retry: () => void } {
  const [state, setState] = useState<QueryState<TResult>>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);
  // Variables are compared by value so callers can pass object literals.
  const key = JSON.stringify(variables);

  useEffect(() => {
    const controller = new AbortController();
    setState({ status: 'loading' });
    request(document, JSON.parse(key) as TVariables, { signal: controller.signal }).then(
      (data) => setState({ status: 'done', data }),
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ status: 'error', error });
      },
    );
    return () => controller.abort();
  }, [document, key, attempt]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  return { state, retry };
}
