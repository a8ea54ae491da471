import { useEffect, useRef, useState } from 'react';
import { GraphQLRequestError } from '../graphql/client';
import type { DeliveryState } from '../gql/graphql';
import { nextPoll } from './delivery';

export interface Delivery {
  state: DeliveryState;
  /** The page stopped asking while the result was still on its way. */
  stoppedPolling: boolean;
}

/**
 * The delivery state of one result: `initial` as the page loaded it, then
 * what `load` says every 2 s while it is SENDING (see nextPoll). `key` names
 * the result; a different key starts over.
 */
export function useDelivery(
  key: string,
  initial: DeliveryState,
  load: (signal: AbortSignal) => Promise<DeliveryState | null>,
): Delivery {
  const [polled, setPolled] = useState<Delivery & { key: string }>();
  const current = polled?.key === key ? polled : { state: initial, stoppedPolling: false };
  // The effect must not restart when the caller passes a new closure.
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  const sending = current.state === 'SENDING' && !current.stoppedPolling;

  useEffect(() => {
    if (!sending) return;
    const controller = new AbortController();
    const since = Date.now();
    let timer: number | undefined;
    const stop = (state: DeliveryState, stoppedPolling: boolean) => setPolled({ key, state, stoppedPolling });
    const schedule = () => {
      const delay = nextPoll('SENDING', since, Date.now());
      if (delay === null) stop('SENDING', true);
      else timer = window.setTimeout(() => void poll(), delay);
    };
    const poll = async () => {
      try {
        const state = await loadRef.current(controller.signal);
        if (state !== null && state !== 'SENDING') return stop(state, false);
      } catch (error) {
        if (controller.signal.aborted) return;
        // Without a session no answer will come; other failures may pass.
        if (error instanceof GraphQLRequestError && error.hasCode('UNAUTHENTICATED')) return stop('SENDING', true);
      }
      schedule();
    };
    schedule();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [key, sending]);

  return current;
}
