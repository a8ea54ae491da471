import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { request } from '../graphql/client';
import { endSession } from '../graphql/session';
import type { PlayerAttemptFieldsFragment } from '../gql/graphql';
import { navigate } from '../router';
import { clockOffset } from './clock';
import { Countdown } from './Countdown';
import { classifyError } from './errors';
import { PlayerClockDocument, PlayerSubmitDocument } from './operations';
import { QuestionNavigator } from './QuestionNavigator';
import { flatten, questionState, reviewLists } from './questions';
import { QuestionView } from './QuestionView';
import { ReviewScreen } from './ReviewScreen';
import { playerPaths } from './routes';
import { retryDelay } from './saveQueue';
import { SaveStatus } from './SaveStatus';
import { TimeUp } from './TimeUp';
import { useAnswerStore } from './useAnswerStore';

const RESYNC_MS = 5 * 60_000;
// Submit waits this long for unsaved changes; when time is up the server
// still accepts saves for its grace period, so it may wait a little longer.
const FLUSH_MS = { manual: 10_000, auto: 20_000 };
const NOT_SAVED = 'Some answers are not saved yet. Check your connection and try again.';
const ENDED = 'This attempt has ended: time is up or it was submitted.';

/** The question on screen survives a reload through the history entry. */
function restoredIndex(count: number): number {
  const q = (window.history.state as { question?: unknown } | null)?.question;
  return typeof q === 'number' && Number.isInteger(q) && q >= 0 && q < count ? q : 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function Player({ attempt }: { attempt: PlayerAttemptFieldsFragment }) {
  const questions = useMemo(() => flatten(attempt.sections), [attempt.sections]);
  const [clock, setClock] = useState(() => ({
    deadline: attempt.deadline,
    offset: clockOffset(attempt.serverTime, Date.now()),
  }));
  const [index, setIndex] = useState(() => restoredIndex(questions.length));
  const [view, setView] = useState<'question' | 'review'>('question');
  const [confirming, setConfirming] = useState(false);
  const [submitting, setSubmitting] = useState<'manual' | 'auto' | null>(null);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [timeUp, setTimeUp] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const moveFocus = useRef(false);
  const leaving = useRef(false);
  const busy = useRef(false);
  const alive = useRef(true);

  // Whatever ended the attempt, the result page says how it went.
  const leave = useCallback(
    (status: string) => {
      if (leaving.current) return;
      leaving.current = true;
      const path = playerPaths.result(attempt.id);
      try {
        navigate(path, status);
      } catch {
        window.location.assign(path); // the history API refused: load the result page instead
      }
    },
    [attempt.id],
  );
  const { store, snapshot } = useAnswerStore(attempt.id, attempt.answers, () => leave(ENDED));

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  useEffect(() => {
    window.history.replaceState({ ...(window.history.state as object | null), question: index }, '');
  }, [index]);

  // Keyboard and screen reader users continue reading at the new question.
  useEffect(() => {
    if (!moveFocus.current) return;
    moveFocus.current = false;
    heading.current?.focus();
  }, [index, view, timeUp]);

  // Device clocks drift and jump (sleep, manual changes): re-read the server's now and then.
  useEffect(() => {
    let cancelled = false;
    const sync = async () => {
      try {
        const { attempt: fresh } = await request(PlayerClockDocument, { id: attempt.id });
        if (cancelled || !fresh) return;
        setClock({ deadline: fresh.deadline, offset: clockOffset(fresh.serverTime, Date.now()) });
        if (fresh.status !== 'OPEN' && !busy.current) {
          store.forget();
          leave(ENDED);
        }
      } catch (error) {
        if (classifyError(error).kind === 'session') endSession();
      }
    };
    const timer = window.setInterval(sync, RESYNC_MS);
    const onVisible = () => document.visibilityState === 'visible' && void sync();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      cancelled = true;
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [attempt.id, store, leave]);

  const submit = async (auto: boolean) => {
    if (busy.current || leaving.current) return;
    busy.current = true;
    setSubmitting(auto ? 'auto' : 'manual');
    setSubmitError(null);
    const stop = (message: string) => {
      busy.current = false;
      setSubmitting(null);
      setSubmitError(message);
    };
    const flushed = await store.flush(auto ? FLUSH_MS.auto : FLUSH_MS.manual);
    if (flushed === 'ended' || flushed === 'stopped') return; // already on its way out
    // At the deadline, submit what the server has rather than miss the end.
    if (flushed === 'timeout' && !auto) return stop(NOT_SAVED);
    for (let failures = 1; alive.current; failures++) {
      try {
        await request(PlayerSubmitDocument, { input: { attemptId: attempt.id } });
      } catch (error) {
        const failure = classifyError(error);
        if (failure.kind === 'session') return endSession();
        if (!auto || failure.kind !== 'retry') return stop(failure.message);
        setSubmitError('Not submitted yet, retrying.');
        await sleep(retryDelay(failures));
        continue;
      }
      // Only the request is retried: what follows a success must not submit again.
      store.forget();
      leave(auto ? 'Time is up. Your answers were submitted.' : 'Your exam was submitted.');
      return;
    }
  };

  const expire = () => {
    if (timeUp) return;
    setConfirming(false);
    moveFocus.current = true;
    setTimeUp(true);
    void submit(true);
  };

  const go = (i: number) => {
    moveFocus.current = true;
    setIndex(i);
    setView('question');
  };
  const review = () => {
    moveFocus.current = true;
    setView('review');
  };

  const question = questions[index];
  const states = questions.map((q) => questionState(q, snapshot.answers));
  const unanswered = reviewLists(states).unanswered.length;

  return (
    <div className="player">
      <header className="player-header">
        <h1>{attempt.examTitle}</h1>
      </header>
      {/* Outside the header so that it can stick to the top of the window. */}
      <div className="player-bar">
        <Countdown deadline={clock.deadline} offset={clock.offset} onExpire={expire} />
        <SaveStatus snapshot={snapshot} />
      </div>

      {timeUp ? (
        <TimeUp
          headingRef={heading}
          submitting={submitting !== null}
          message={submitError}
          onRetry={() => void submit(true)}
        />
      ) : view === 'review' || !question ? (
        <ReviewScreen
          states={states}
          headingRef={heading}
          onGo={(n) => go(Math.max(0, questions.findIndex((q) => q.number === n)))}
          onBack={() => go(index)}
          onSubmit={() => setConfirming(true)}
        />
      ) : (
        <QuestionView
          key={question.id}
          question={question}
          total={questions.length}
          answer={snapshot.answers[question.id]}
          headingRef={heading}
          onChoices={(choices, delayMs) => store.setChoices(question.id, choices, delayMs)}
          onFlag={(flagged) => store.setFlag(question.id, flagged)}
          onPrevious={index > 0 ? () => go(index - 1) : null}
          onNext={() => (index + 1 < questions.length ? go(index + 1) : review())}
        />
      )}

      {!timeUp && (
        <>
          <QuestionNavigator
            questions={questions}
            answers={snapshot.answers}
            current={view === 'question' ? index : null}
            onGo={go}
          />
          {view === 'question' && (
            <p className="review-entry">
              <button type="button" className="button secondary" onClick={review}>
                Review answers
              </button>
            </p>
          )}
        </>
      )}

      {confirming && (
        <ConfirmDialog
          title="Submit now?"
          confirmLabel="Submit exam"
          busyLabel="Submitting…"
          busy={submitting === 'manual'}
          error={
            submitError
              ? { code: null, message: submitError, detail: null, retry: true, sessionEnded: false }
              : null
          }
          onConfirm={() => void submit(false)}
          onClose={() => {
            setConfirming(false);
            setSubmitError(null);
          }}
          initialFocus="back"
        >
          <p>You cannot change your answers afterwards.</p>
          {unanswered > 0 && (
            <p>
              {unanswered === 1 ? '1 question is' : `${unanswered} questions are`} unanswered.
            </p>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
