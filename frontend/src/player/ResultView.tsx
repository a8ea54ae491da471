import { useMemo } from 'react';
import { Link } from '../components/Link';
import { useDocumentTitle } from '../components/useDocumentTitle';
import { browserLocale, formatInstant } from '../format/datetime';
import { useTimeZone } from '../format/timeZone';
import { request } from '../graphql/client';
import type { PlayerAttemptFieldsFragment } from '../gql/graphql';
import { DeliveryStatus } from './DeliveryStatus';
import { PlayerResultDeliveryDocument } from './operations';
import { flatten } from './questions';
import { itemPoints, nextStep, resultHeading, scoreSentence } from './result';
import { playerPaths } from './routes';
import { useDelivery } from './useDelivery';
import { language, t } from '../i18n';
import { tNodes } from '../i18n/nodes';

/** The outcome of an ended attempt, in words first and numbers second. */
export function ResultView({ attempt, onRetry }: { attempt: PlayerAttemptFieldsFragment; onRetry: () => void }) {
  const { result } = attempt;
  useDocumentTitle(result ? resultHeading(result.passed) : t('result.title'));
  if (!result) {
    return (
      <section className="card">
        <h1>{t('result.notReadyTitle')}</h1>
        <p>{t('result.notReady')}</p>
        <div className="actions">
          <button type="button" className="button" onClick={onRetry}>
            {t('result.checkAgain')}
          </button>
          <Link className="button secondary" href={playerPaths.dashboard(attempt.examCode)}>
            {t('exam.backToDashboard')}
          </Link>
        </div>
      </section>
    );
  }

  return <EndedResult attempt={attempt} result={result} />;
}

type Result = NonNullable<PlayerAttemptFieldsFragment['result']>;

function EndedResult({ attempt, result }: { attempt: PlayerAttemptFieldsFragment; result: Result }) {
  const zone = useTimeZone();
  const endedAt = attempt.endedAt ?? result.endedAt;
  // Follows the result to the course platform while the page is open.
  const delivery = useDelivery(attempt.id, result.delivery, (signal) =>
    request(PlayerResultDeliveryDocument, { id: attempt.id }, { signal }).then((d) => d.attempt?.result?.delivery ?? null),
  );
  return (
    <section className={result.passed ? 'card result passed' : 'card result failed'}>
      <p className="result-exam">{attempt.examTitle}</p>
      <h1>{resultHeading(result.passed)}</h1>
      <p className="result-score" data-testid="result-score">
        {scoreSentence(result)}
      </p>
      {endedAt && (
        <p className="note" data-testid="attempt-status">
          {tNodes(attempt.status === 'TIMED_OUT' ? 'result.timedOutOn' : 'result.submittedOn', {
            when: <time dateTime={endedAt}>{formatInstant(endedAt, browserLocale(), zone)}</time>,
          })}
        </p>
      )}
      <h2>{t('result.next')}</h2>
      <p data-testid="next-step">{nextStep(result.passed, result.attemptsLeft)}</p>
      <DeliveryStatus delivery={delivery} />
      <div className="actions">
        {/* Only once the course has the result: before that it would show the exam as not done.
            A full page load: the server signs the learner in to the course platform and redirects there. */}
        {delivery.state !== 'SENDING' && (
          <a className="button" href={playerPaths.course(attempt.examCode)}>
            {t('exam.backToCourse')}
          </a>
        )}
        <Link className="button secondary" href={playerPaths.dashboard(attempt.examCode)}>
          {t('exam.backToDashboard')}
        </Link>
      </div>
      {result.items && <ItemReview attempt={attempt} items={result.items} />}
    </section>
  );
}

type ItemResults = NonNullable<Result['items']>;

function ItemReview({ attempt, items }: { attempt: PlayerAttemptFieldsFragment; items: ItemResults }) {
  const questions = useMemo(() => flatten(attempt.sections), [attempt.sections, language()]);
  const byId = new Map(items.map((it) => [it.itemId, it]));
  return (
    <>
      <h2>{t('result.yourAnswers')}</h2>
      <ol className="item-review">
        {questions.map((q) => {
          const it = byId.get(q.id);
          if (!it) return null;
          const text = (ids: readonly string[]) =>
            ids.map((id) => q.options.find((o) => o.id === id)?.text ?? id).join(', ');
          return (
            <li key={q.id} value={q.number} className={it.correct ? 'correct' : 'incorrect'} data-testid="item-review">
              <p className="item-verdict">
                <strong>{t('result.question', { n: q.number })}</strong> {it.correct ? t('result.correct') : t('result.incorrect')},{' '}
                {itemPoints(it.points, it.maxPoints)}
              </p>
              {/* Sanitised by the server, like in the player. */}
              <div className="stem" dangerouslySetInnerHTML={{ __html: q.stemHtml }} />
              <dl className="item-answers">
                <dt>{t('result.yourAnswer')}</dt>
                <dd data-testid="chosen">{it.chosen.length > 0 ? text(it.chosen) : t('result.notAnswered')}</dd>
                {!it.correct && (
                  <>
                    <dt>{t('result.rightAnswer')}</dt>
                    <dd data-testid="right-answer">{text(it.correctChoices)}</dd>
                  </>
                )}
              </dl>
            </li>
          );
        })}
      </ol>
    </>
  );
}
