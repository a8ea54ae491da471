// The sentences of the result page, apart from rendering so they are tested.
// Numbers use English notation to match the English sentences around them.

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

export interface ResultNumbers {
  score: number;
  maxScore: number;
  percent: number;
  passMark: number;
  passed: boolean;
}

export const resultHeading = (passed: boolean) => (passed ? 'You passed' : 'You did not pass');

/** "You scored 66.67 % (2 of 3 points). The pass mark is 50 %." */
export function scoreSentence({ score, maxScore, percent, passMark }: ResultNumbers): string {
  const points = maxScore === 1 ? 'point' : 'points';
  return (
    `You scored ${number.format(percent)} % (${number.format(score)} of ${number.format(maxScore)} ${points}). ` +
    `The pass mark is ${number.format(passMark)} %.`
  );
}

/** What the course will do with the result once it arrives, and what is left to do. */
export function nextStep(passed: boolean, attemptsLeft: number): string {
  if (passed) return 'Your course will show this exam as completed.';
  if (attemptsLeft <= 0) {
    return 'Your course will record that you did not pass. You have no attempts left for this exam; contact support if you need another.';
  }
  const left = attemptsLeft === 1 ? '1 attempt' : `${attemptsLeft} attempts`;
  return `Your course will be reset so you can study again before your next attempt. You have ${left} left.`;
}

/** The dashboard's one-line summary: "You passed with 100 %." */
export function summarySentence({ passed, percent }: Pick<ResultNumbers, 'passed' | 'percent'>): string {
  return passed
    ? `You passed with ${number.format(percent)} %.`
    : `You did not pass: you scored ${number.format(percent)} %.`;
}

/** "1 of 1 point" for one question of the review list. */
export function itemPoints(points: number, maxPoints: number): string {
  return `${number.format(points)} of ${number.format(maxPoints)} ${maxPoints === 1 ? 'point' : 'points'}`;
}
