import { numberFormat } from '../format/datetime';
import { t, tn } from '../i18n';

// The sentences of the result page, apart from rendering so they are tested.
// Numbers are written as the page's language writes them.
export interface ResultNumbers {
  score: number;
  maxScore: number;
  percent: number;
  passMark: number;
  passed: boolean;
}

export const resultHeading = (passed: boolean) => (passed ? t('result.passed') : t('result.failed'));

/** "You scored 66.67 % (2 of 3 points). The pass mark is 50 %." */
export function scoreSentence({ score, maxScore, percent, passMark }: ResultNumbers): string {
  const number = numberFormat();
  return tn('result.score', maxScore, {
    percent: number.format(percent),
    score: number.format(score),
    max: number.format(maxScore),
    passMark: number.format(passMark),
  });
}

/** What the course will do with the result once it arrives, and what is left to do. */
export function nextStep(passed: boolean, attemptsLeft: number): string {
  if (passed) return t('result.nextPassed');
  if (attemptsLeft <= 0) return t('result.nextNoneLeft');
  return tn('result.nextLeft', attemptsLeft);
}

/** The dashboard's one-line summary: "You passed with 100 %." */
export function summarySentence({ passed, percent }: Pick<ResultNumbers, 'passed' | 'percent'>): string {
  const p = numberFormat().format(percent);
  return passed ? t('result.summaryPassed', { percent: p }) : t('result.summaryFailed', { percent: p });
}

/** "1 of 1 point" for one question of the review list. */
export function itemPoints(points: number, maxPoints: number): string {
  const number = numberFormat();
  return t(`result.points.${maxPoints === 1 ? 'one' : 'other'}`, { points: number.format(points), n: number.format(maxPoints) });
}
