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

/** The outcome of an ended attempt, in words first and numbers second. */
export function ResultView({ attempt, onRetry }: { attempt: PlayerAttemptFieldsFragment; onRetry: () => void }) {
  const { result } = attempt;
  useDocumentTitle(result ? resultHeading(result.passed) : 'Result');
  if (!result) {
    return (
      <section className="card">
        <h1>Your result is not ready yet</h1>
        <p>Your exam has ended. Your result appears here in a moment.</p>
        <div className="actions">
          <button type="button" className="button" onClick={onRetry}>
            Check again
          </button>
          <Link className="button secondary" href={playerPaths.dashboard(attempt.examCode)}>
            Back to exam dashboard
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
          {attempt.status === 'TIMED_OUT' ? 'Time ran out on ' : 'Submitted on '}
          <time dateTime={endedAt}>{formatInstant(endedAt, browserLocale(), zone)}</time>.
        </p>
      )}
      <h2>What happens next</h2>
      <p data-testid="next-step">{nextStep(result.passed, result.attemptsLeft)}</p>
      <DeliveryStatus delivery={delivery} />
      <div className="actions">
        {/* Only once the course has the result: before that it would show the exam as not done.
            A full page load: the server signs the learner in to the course platform and redirects there. */}
        {delivery.state !== 'SENDING' && (
          <a className="button" href={playerPaths.course(attempt.examCode)}>
            Back to your course
          </a>
        )}
        <Link className="button secondary" href={playerPaths.dashboard(attempt.examCode)}>
          Back to exam dashboard
        </Link>
      </div>
      {result.items && <ItemReview attempt={attempt} items={result.items} />}
    </section>
  );
}

type ItemResults = NonNullable<Result['items']>;

function ItemReview({ attempt, items }: { attempt: PlayerAttemptFieldsFragment; items: ItemResults }) {
  const questions = useMemo(() => flatten(attempt.sections), [attempt.sections]);
  const byId = new Map(items.map((it) => [it.itemId, it]));
  return (
    <>
      <h2>Your answers</h2>
      <ol className="item-review">
        {questions.map((q) => {
          const it = byId.get(q.id);
          if (!it) return null;
          const text = (ids: readonly string[]) =>
            ids.map((id) => q.options.find((o) => o.id === id)?.text ?? id).join(', ');
          return (
            <li key={q.id} value={q.number} className={it.correct ? 'correct' : 'incorrect'} data-testid="item-review">
              <p className="item-verdict">
                <strong>Question {q.number}:</strong> {it.correct ? 'Correct' : 'Incorrect'},{' '}
                {itemPoints(it.points, it.maxPoints)}
              </p>
              {/* Sanitised by the server, like in the player. */}
              <div className="stem" dangerouslySetInnerHTML={{ __html: q.stemHtml }} />
              <dl className="item-answers">
                <dt>Your answer</dt>
                <dd data-testid="chosen">{it.chosen.length > 0 ? text(it.chosen) : 'Not answered'}</dd>
                {!it.correct && (
                  <>
                    <dt>Right answer</dt>
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
