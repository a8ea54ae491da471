import { useRef, useState } from 'react';
import { request } from '../graphql/client';
import { endSession } from '../graphql/session';
import { navigate } from '../router';
import { classifyError } from './errors';
import { PlayerStartOnDemandDocument } from './operations';
import { playerPaths } from './routes';
import { t } from '../i18n';

function newClientKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Starts an on-demand exam and opens the player. Starting again returns the
 * open attempt, so this doubles as "continue". The client key is kept while
 * the outcome is unknown, so a retried click cannot start two attempts.
 */
export function StartOnDemand({ examCode, label = t('start.exam') }: { examCode: string; label?: string }) {
  const key = useRef<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const start = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    key.current ??= newClientKey();
    try {
      const { startOnDemand } = await request(PlayerStartOnDemandDocument, {
        input: { examCode, clientKey: key.current },
      });
      navigate(playerPaths.attempt(startOnDemand.id));
    } catch (err) {
      const failure = classifyError(err);
      if (failure.kind === 'session') return endSession();
      if (failure.kind !== 'retry') key.current = null; // refused: the next click is a new request
      setError(failure.message);
      setBusy(false);
    }
  };

  return (
    <div className="start-exam">
      {error && (
        <p role="alert" className="error-message">
          {error}
        </p>
      )}
      <button type="button" className="button" aria-disabled={busy} onClick={() => void start()}>
        {busy ? t('booking.starting') : label}
      </button>
    </div>
  );
}
