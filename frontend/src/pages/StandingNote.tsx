import type { ReactNode } from 'react';
import type { ExamDashboardQuery } from '../gql/graphql';
import { playerPaths } from '../player';
import { standing } from '../player/standing';
import type { Ready } from './examView';

/**
 * Shows children while the learner may still book or take the exam; else why
 * not, and the way back to the course. The eligibility card already explains
 * a missing or ended eligibility, so only the way back is repeated then.
 */
export function Closed({ data, children }: { data: Ready<ExamDashboardQuery>; children: ReactNode }) {
  const { exam, eligibility, result } = data;
  const now = standing({
    eligibility: eligibility ?? null,
    passed: result?.passed === true,
    attemptsLeft: exam.attemptsLeft ?? null,
    attemptsAllowed: exam.attemptsAllowed ?? null,
  });
  if (now.open) return <>{children}</>;
  // A pass is shown by its result summary.
  if (result?.passed) return null;
  return (
    <div className="standing" data-testid="standing">
      <p>{now.reason}</p>
      <p>
        {/* A full page load: the server signs the learner in to the course platform. */}
        <a className="button secondary" href={playerPaths.course(exam.code)}>
          Back to your course
        </a>
      </p>
    </div>
  );
}
