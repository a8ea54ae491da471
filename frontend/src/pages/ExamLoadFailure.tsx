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

function Loading() {
  useDocumentTitle('Loading');
  return (
    <p className="loading" role="status">
      Loading your exam…
    </p>
  );
}
