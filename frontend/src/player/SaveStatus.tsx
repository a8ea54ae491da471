import type { Snapshot } from './answerStore';

const WORDS: Record<Snapshot['phase'], string> = {
  idle: '',
  saving: 'Saving…',
  saved: 'Saved',
  retrying: 'Not saved, retrying',
  ended: '',
  stopped: 'Not saved',
};

/** Whether the last change reached the server, in words, politely announced. */
export function SaveStatus({ snapshot }: { snapshot: Snapshot }) {
  const text = WORDS[snapshot.phase];
  return (
    <div className="save-state">
      <p role="status" className={`save-status ${snapshot.phase}`} data-testid="save-status">
        {text}
      </p>
      {snapshot.rejected && (
        <p role="alert" className="error-message">
          That change was not saved: {snapshot.rejected}
        </p>
      )}
    </div>
  );
}
