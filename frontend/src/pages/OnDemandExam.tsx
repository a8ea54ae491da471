import type { ExamDashboardQuery } from '../gql/graphql';
import { ExamFacts, LatestResult, StartOnDemand } from '../player';
import { attemptsSentence } from '../player/standing';
import type { Ready } from './examView';
import { Closed } from './StandingNote';

/** An exam that starts at once: what it takes, the Start button, and how the last attempt went. */
export function OnDemandExam({ data }: { data: Ready<ExamDashboardQuery> }) {
  const { exam, result } = data;
  return (
    <>
      <Closed data={data}>
        <p>This exam needs no booking. Start it when you are ready; the timer starts when you press Start.</p>
        <ExamFacts exam={exam} />
        {attemptsLine(exam)}
        <StartOnDemand examCode={exam.code} />
      </Closed>
      {result && (
        <>
          <h3 className="result-heading">Your latest result</h3>
          <LatestResult result={result} />
        </>
      )}
    </>
  );
}

export function attemptsLine(exam: { attemptsLeft?: number | null; attemptsAllowed?: number | null }) {
  const sentence = attemptsSentence(exam.attemptsLeft ?? null, exam.attemptsAllowed ?? null);
  return sentence && <p data-testid="attempts-left">{sentence}</p>;
}
