import { useEffect } from 'react';
import { MessagePage } from '../components/MessagePage';
import { useDocumentTitle } from '../components/useDocumentTitle';
import { SessionEnded } from './SessionEnded';
import type { ExamView } from './examView';
import { t } from '../i18n';

/** What an exam page shows until its data is ready: loading, or why it is not. */
export function ExamLoadFailure({ view, retry }: { view: Exclude<ExamView<object>, { kind: 'ready' }>; retry: () => void }) {
  switch (view.kind) {
    case 'loading':
      return <Loading />;
    case 'session-ended':
      return <SessionEnded />;
    case 'not-found':
      return (
        <MessagePage title={t('load.notFoundTitle')}>
          <p>{t('load.notFound')}</p>
        </MessagePage>
      );
    case 'unavailable':
      return <Reconnecting retry={retry} />;
    case 'error':
      return (
        <MessagePage title={t('load.errorTitle')}>
          <p role="alert">{view.message}</p>
          <button type="button" className="button" onClick={retry}>
            {t('load.retry')}
          </button>
        </MessagePage>
      );
  }
}

/** How long to wait before asking the server again after an outage. */
export const RECONNECT_MS = 5000;

/** An outage keeps the learner where they are and tries again by itself. */
function Reconnecting({ retry }: { retry: () => void }) {
  useDocumentTitle(t('load.connectionTitle'));
  useEffect(() => {
    const timer = setTimeout(retry, RECONNECT_MS);
    return () => clearTimeout(timer);
  }, [retry]);
  return (
    <MessagePage title={t('load.reconnectingTitle')}>
      <p role="status">{t('load.reconnecting')}</p>
      <button type="button" className="button" onClick={retry}>
        {t('load.retryNow')}
      </button>
    </MessagePage>
  );
}

export function Loading() {
  useDocumentTitle(t('load.loadingTitle'));
  return (
    <p className="loading" role="status">
      {t('load.loading')}
    </p>
  );
}
