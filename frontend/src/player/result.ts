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

export function nextStep(passed: boolean): string {
  return passed
    ? 'Your result is being sent to your course.'
    : 'Your course will be reset so you can study again before your next attempt.';
}

/** "1 of 1 point" for one question of the review list. */
export function itemPoints(points: number, maxPoints: number): string {
  return `${number.format(points)} of ${number.format(maxPoints)} ${maxPoints === 1 ? 'point' : 'points'}`;
}
