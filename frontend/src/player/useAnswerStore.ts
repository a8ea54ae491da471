import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { request } from '../graphql/client';
import { endSession } from '../graphql/session';
import { AnswerStore, type Transport } from './answerStore';
import { classifyError } from './errors';
import { PlayerFlagItemDocument, PlayerSaveAnswerDocument } from './operations';
import type { ServerAnswer } from './saveQueue';

// A request that hangs would hold up every later save; give up and retry.
const SAVE_TIMEOUT_MS = 20_000;

function transport(attemptId: string): Transport {
  return {
    async send(entry) {
      const signal = AbortSignal.timeout(SAVE_TIMEOUT_MS);
      if (entry.kind === 'choices') {
        const input = { attemptId, itemId: entry.itemId, choices: [...entry.choices], clientSeq: entry.seq };
        return (await request(PlayerSaveAnswerDocument, { input }, { signal })).saveAnswer;
      }
      const input = { attemptId, itemId: entry.itemId, flagged: entry.flagged, clientSeq: entry.seq };
      return (await request(PlayerFlagItemDocument, { input }, { signal })).flagItem;
    },
    classify: classifyError,
  };
}

function localStorageOrNull(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // blocked by privacy settings: saves still work, only a reload loses the queue
  }
}

/** The attempt's answers and their save queue, sending while the player is shown. */
export function useAnswerStore(attemptId: string, server: readonly ServerAnswer[], onEnded: () => void) {
  const ended = useRef(onEnded);
  ended.current = onEnded;
  const [store] = useState(
    () =>
      new AnswerStore({
        attemptId,
        server,
        transport: transport(attemptId),
        storage: localStorageOrNull(),
        onEnded: () => ended.current(),
        onSessionEnded: endSession,
      }),
  );

  useEffect(() => {
    store.start();
    // Back online: no reason to sit out the rest of the backoff.
    const online = () => store.retryNow();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      store.stop();
    };
  }, [store]);

  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot);
  return { store, snapshot };
}
