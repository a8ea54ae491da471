import { useEffect } from 'react';
import { MessagePage } from '../components/MessagePage';
import { GraphQLRequestError, learnerMessage } from '../graphql/client';
import { endSession } from '../graphql/session';
import { useQuery } from '../graphql/useQuery';
import { useDocumentTitle } from '../components/useDocumentTitle';
import { ContinueAttempt } from './ContinueAttempt';
import { PlayerAttemptDocument } from './operations';
import { Player } from './Player';
import { ResultView } from './ResultView';
import { storageKey } from './saveQueue';
import './player.css';
import { t } from '../i18n';
import { Loading } from '../pages/ExamLoadFailure';

/**
 * /attempts/:id (the player) and /attempts/:id/result. An attempt that has
 * ended always shows its result; the result page of an open one links back.
 */
export function AttemptPage({ id, resultPage = false }: { id: string; resultPage?: boolean }) {
  const { state, retry } = useQuery(PlayerAttemptDocument, { id });
  const error = state.status === 'error' ? state.error : null;
  const sessionGone = error instanceof GraphQLRequestError && error.hasCode('UNAUTHENTICATED');
  const attempt = state.status === 'done' ? state.data.attempt : undefined;
  const ended = attempt != null && attempt.status !== 'OPEN';

  useEffect(() => {
    if (sessionGone) endSession(); // the app then explains what to do
  }, [sessionGone]);

  useEffect(() => {
    // Nothing can be saved any more; do not keep the learner's answers around.
    if (ended) {
      try {
        localStorage.removeItem(storageKey(id));
      } catch {
        // storage blocked: nothing stored either
      }
    }
  }, [ended, id]);

  if (state.status === 'loading' || sessionGone) return <Loading />;
  if (state.status === 'error') {
    if (error instanceof GraphQLRequestError && error.hasCode('NOT_FOUND')) return <NotFound />;
    return (
      <MessagePage title={t('load.errorTitle')}>
        <p role="alert">{error instanceof GraphQLRequestError ? learnerMessage(error, t('load.generic')) : t('load.genericShort')}</p>
        <button type="button" className="button" onClick={retry}>
          {t('load.retry')}
        </button>
      </MessagePage>
    );
  }
  if (!attempt) return <NotFound />;
  if (ended) return <ResultView attempt={attempt} onRetry={retry} />;
  if (resultPage) {
    return (
      <MessagePage title={t('attempt.inProgressTitle')}>
        <p>{t('attempt.inProgress')}</p>
        <ContinueAttempt attemptId={attempt.id} />
      </MessagePage>
    );
  }
  return <PlayerWithTitle attempt={attempt} />;
}

function PlayerWithTitle({ attempt }: { attempt: Parameters<typeof Player>[0]['attempt'] }) {
  useDocumentTitle(attempt.examTitle);
  return <Player attempt={attempt} />;
}

function NotFound() {
  return (
    <MessagePage title={t('attempt.notFoundTitle')}>
      <p>{t('attempt.notFound')}</p>
    </MessagePage>
  );
}
