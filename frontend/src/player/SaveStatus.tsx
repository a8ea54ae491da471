import type { Snapshot } from './answerStore';
import { t, type Key } from '../i18n';

const WORDS: Record<Snapshot['phase'], Key | null> = {
  idle: null,
  saving: 'save.saving',
  saved: 'save.saved',
  retrying: 'save.retrying',
  ended: null,
  stopped: 'save.stopped',
};

const words = (phase: Snapshot['phase']) => {
  const key = WORDS[phase];
  return key ? t(key) : '';
};

/** Whether the last change reached the server, in words, politely announced once. */
export function SaveStatus({ snapshot }: { snapshot: Snapshot }) {
  const text = words(snapshot.phase);
  return (
    <div className="save-state">
      <p className={`save-status ${snapshot.phase}`} data-testid="save-status" aria-hidden="true">
        {text}
      </p>
      <p role="status" className="sr-only" data-testid="save-announcement">
        {/* What a screen reader hears: the outcome only, so one answer is one announcement. */}
        {snapshot.phase === 'saving' ? '' : text}
      </p>
      {snapshot.rejected && (
        <p role="alert" className="error-message">
          {t('save.rejected', { reason: snapshot.rejected })}
        </p>
      )}
    </div>
  );
}
