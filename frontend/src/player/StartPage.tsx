import { useEffect, type ReactNode } from 'react';
import { Link } from '../components/Link';
import { MessagePage } from '../components/MessagePage';
import { useDocumentTitle } from '../components/useDocumentTitle';
import { GraphQLRequestError } from '../graphql/client';
import { endSession } from '../graphql/session';
import { useQuery } from '../graphql/useQuery';
import type { PlayerStartPageQuery } from '../gql/graphql';
import { ExamFacts } from './ExamFacts';
import { PlayerStartPageDocument } from './operations';
import { playerPaths } from './routes';
import { standing } from './standing';
import { StartOnDemand } from './StartOnDemand';
import './player.css';

/** /exams/:code/start: what the learner is about to begin, and the Start button. */
export function StartPage({ code }: { code: string }) {
  const { state, retry } = useQuery(PlayerStartPageDocument, { code });
  const error = state.status === 'error' ? state.error : null;
  const data = state.status === 'done' ? state.data : null;
  const sessionGone =
    (error instanceof GraphQLRequestError && (error.hasCode('UNAUTHENTICATED') || (error.data as { me?: unknown } | null)?.me === null)) ||
    (data !== null && data.me === null);

  useEffect(() => {
    if (sessionGone) endSession();
  }, [sessionGone]);

  if (state.status === 'loading' || sessionGone) {
    return (
      <p className="loading" role="status">
        Loading your exam…
      </p>
    );
  }
  if (error) {
    if (error instanceof GraphQLRequestError && error.hasCode('NOT_FOUND')) return <ExamNotFound />;
    return (
      <MessagePage title="We could not load your exam">
        <p role="alert">{error instanceof GraphQLRequestError ? error.message : 'Something went wrong. Please try again.'}</p>
        <button type="button" className="button" onClick={retry}>
          Retry
        </button>
      </MessagePage>
    );
  }
  const exam = data?.exam;
  if (!exam) return <ExamNotFound />;
  const back = (
    <p>
      <Link href={playerPaths.dashboard(exam.code)}>Back to exam dashboard</Link>
    </p>
  );
  if (!exam.deliverable) {
    return (
      <MessagePage title={exam.title}>
        <p>This exam cannot be taken online. Contact support.</p>
        {back}
      </MessagePage>
    );
  }
  // The server refuses these starts too; the page says why before the click.
  const now = standing({
    eligibility: data?.eligibility ?? null,
    passed: data?.result?.passed === true,
    attemptsLeft: exam.attemptsLeft ?? null,
    attemptsAllowed: exam.attemptsAllowed ?? null,
  });
  if (!now.open) {
    return (
      <MessagePage title={exam.title}>
        <p data-testid="standing">{now.reason}</p>
        <p>
          <a className="button" href={playerPaths.course(exam.code)}>
            Back to your course
          </a>
        </p>
        {back}
      </MessagePage>
    );
  }
  if (!exam.onDemand) {
    return (
      <MessagePage title={exam.title}>
        <p>This exam starts from a booking. Book a time slot on your exam dashboard first.</p>
        {back}
      </MessagePage>
    );
  }
  return <Ready exam={exam} back={back} />;
}

type Exam = NonNullable<PlayerStartPageQuery['exam']>;

function Ready({ exam, back }: { exam: Exam; back: ReactNode }) {
  useDocumentTitle(exam.title);
  return (
    <section className="card start-page" aria-labelledby="start-heading">
      <h1 id="start-heading">{exam.title}</h1>
      <ExamFacts exam={exam} />
      <p>
        The timer starts when you press Start and keeps running if you leave the page. Your answers are saved as you
        go, and submitted automatically when time is up.
      </p>
      <StartOnDemand examCode={exam.code} />
      {back}
    </section>
  );
}

function ExamNotFound() {
  return (
    <MessagePage title="Exam not found">
      <p>This exam does not exist. Check the link in your course, or contact support.</p>
    </MessagePage>
  );
}
