import type { ItemType } from '../gql/graphql';
import type { ItemAnswer } from './saveQueue';

// The attempt's items in order, and the words that describe each one's state
// in the navigator and on the review screen (text, so colour is never the
// only sign).

export interface Question {
  id: string;
  number: number;
  type: ItemType;
  stemHtml: string;
  options: readonly { id: string; text: string }[];
  sectionTitle: string | null;
  /** Index of the first question of a titled section, to show the title there. */
  startsSection: boolean;
}

interface SectionLike {
  title?: string | null;
  items: readonly Omit<Question, 'sectionTitle' | 'startsSection'>[];
}

export function flatten(sections: readonly SectionLike[]): Question[] {
  return sections.flatMap((s) =>
    s.items.map((item, i) => ({ ...item, sectionTitle: s.title || null, startsSection: i === 0 && !!s.title })),
  );
}

export interface QuestionState {
  number: number;
  answered: boolean;
  flagged: boolean;
}

export function questionState(q: Pick<Question, 'id' | 'number'>, answers: Readonly<Record<string, ItemAnswer>>): QuestionState {
  const a = answers[q.id];
  return { number: q.number, answered: (a?.choices.length ?? 0) > 0, flagged: a?.flagged ?? false };
}

/**
 * The short visible words under the number, e.g. "Unanswered, flagged". The
 * navigator button's accessible name is "Question 3 Unanswered, flagged":
 * the visible text whole, so voice control finds the button by what it shows.
 */
export function navigatorMarks({ answered, flagged }: QuestionState): string {
  return `${answered ? 'Answered' : 'Unanswered'}${flagged ? ', flagged' : ''}`;
}

/** What the review screen lists, as question numbers. */
export function reviewLists(states: readonly QuestionState[]): { unanswered: number[]; flagged: number[] } {
  return {
    unanswered: states.filter((s) => !s.answered).map((s) => s.number),
    flagged: states.filter((s) => s.flagged).map((s) => s.number),
  };
}

export const isMultiple = (type: ItemType) => type === 'MULTIPLE';
