import type { ExamDashboardQuery } from '../gql/graphql';
import { ExamFacts, LatestResult, StartOnDemand } from '../player';
import { attemptsSentence } from '../player/standing';
import type { Ready } from './examView';
import { Closed } from './StandingNote';
import { t } from '../i18n';

/** An exam that starts at once: what it takes, the Start button, and how the last attempt went. */
export function OnDemandExam({ data }: { data: Ready<ExamDashboardQuery> }) {
  const { exam, result } = data;
  return (
    <>
      <Closed data={data}>
        <p>{t('dash.onDemand')}</p>
        <ExamFacts exam={exam} />
        {attemptsLine(exam)}
        <StartOnDemand examCode={exam.code} />
      </Closed>
      {result && (
        <>
          <h3 className="result-heading">{t('dash.latestResult')}</h3>
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
