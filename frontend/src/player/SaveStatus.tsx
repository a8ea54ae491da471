import type { Snapshot } from './answerStore';

const WORDS: Record<Snapshot['phase'], string> = {
  idle: '',
  saving: 'Saving…',
  saved: 'Saved',
  retrying: 'Not saved, retrying',
  ended: '',
  stopped: 'Not saved',
};

/** What a screen reader hears: the outcome only, so one answer is one announcement. */
const SPOKEN: Record<Snapshot['phase'], string> = { ...WORDS, saving: '' };

/** Whether the last change reached the server, in words, politely announced once. */
export function SaveStatus({ snapshot }: { snapshot: Snapshot }) {
  const text = WORDS[snapshot.phase];
  return (
    <div className="save-state">
      <p className={`save-status ${snapshot.phase}`} data-testid="save-status" aria-hidden="true">
        {text}
      </p>
      <p role="status" className="sr-only" data-testid="save-announcement">
        {SPOKEN[snapshot.phase]}
      </p>
      {snapshot.rejected && (
        <p role="alert" className="error-message">
          That change was not saved: {snapshot.rejected}
        </p>
      )}
    </div>
  );
}
