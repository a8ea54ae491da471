import { useEffect } from 'react';
import { MessagePage } from '../components/MessagePage';
import { useDocumentTitle } from '../components/useDocumentTitle';
import { SessionEnded } from './SessionEnded';
import type { ExamView } from './examView';

/** What an exam page shows until its data is ready: loading, or why it is not. */
export function ExamLoadFailure({ view, retry }: { view: Exclude<ExamView<object>, { kind: 'ready' }>; retry: () => void }) {
  switch (view.kind) {
    case 'loading':
      return <Loading />;
    case 'session-ended':
      return <SessionEnded />;
    case 'not-found':
      return (
        <MessagePage title="Exam not found">
          <p>This exam does not exist. Check the link in your course, or contact support.</p>
        </MessagePage>
      );
    case 'unavailable':
      return <Reconnecting retry={retry} />;
    case 'error':
      return (
        <MessagePage title="We could not load your exam">
          <p role="alert">{view.message}</p>
          <button type="button" className="button" onClick={retry}>
            Retry
          </button>
        </MessagePage>
      );
  }
}

/** How long to wait before asking the server again after an outage. */
export const RECONNECT_MS = 5000;

/** An outage keeps the learner where they are and tries again by itself. */
function Reconnecting({ retry }: { retry: () => void }) {
  useDocumentTitle('Connection problem');
  useEffect(() => {
    const timer = setTimeout(retry, RECONNECT_MS);
    return () => clearTimeout(timer);
  }, [retry]);
  return (
    <MessagePage title="Connection problem, retrying">
      <p role="status">We cannot reach examgate just now. This page tries again every few seconds and carries on by itself; nothing you did is lost.</p>
      <button type="button" className="button" onClick={retry}>
        Retry now
      </button>
    </MessagePage>
  );
}

function Loading() {
  useDocumentTitle('Loading');
  return (
    <p className="loading" role="status">
      Loading your exam…
    </p>
  );
}
