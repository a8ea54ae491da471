import { numberFormat } from '../format/datetime';
import { t, tn } from '../i18n';

// What a learner should know before starting an exam, shared by the start
// page and the dashboard so both say it the same way.

export interface ExamNumbers {
  itemCount?: number | null;
  durationMinutes?: number | null;
  passMark?: number | null;
}

/** ["2 questions", "1 minute to answer them", "Pass mark: 50 %"], leaving out what is unknown. */
export function examFacts({ itemCount: n, durationMinutes: minutes, passMark }: ExamNumbers): string[] {
  const facts: string[] = [];
  if (n != null) facts.push(tn('facts.questions', n));
  if (minutes != null) facts.push(tn('facts.minutes', minutes));
  if (passMark != null) facts.push(t('facts.passMark', { n: numberFormat().format(passMark) }));
  return facts;
}
