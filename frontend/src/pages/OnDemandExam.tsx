import type { ExamDashboardQuery } from '../gql/graphql';
import { ExamFacts, LatestResult, StartOnDemand } from '../player';
import type { Ready } from './examView';

/** An exam that starts at once: what it takes, the Start button, and how the last attempt went. */
export function OnDemandExam({ data: { exam, eligibility, result } }: { data: Ready<ExamDashboardQuery> }) {
  // The server refuses to start a passed exam again: a later fail would reset the course.
  const canStart = eligibility?.active === true && !result?.passed;
  return (
    <>
      {canStart && (
        <>
          <p>This exam needs no booking. Start it when you are ready; the timer starts when you press Start.</p>
          <ExamFacts exam={exam} />
          <StartOnDemand examCode={exam.code} />
        </>
      )}
      {result && (
        <>
          <h3 className="result-heading">Your latest result</h3>
          <LatestResult result={result} />
        </>
      )}
    </>
  );
}
