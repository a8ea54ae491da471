import { useId } from 'react';
import type { ItemAnswer } from './saveQueue';
import { navigatorMarks, questionState, type Question } from './questions';

interface Props {
  questions: readonly Question[];
  answers: Readonly<Record<string, ItemAnswer>>;
  /** Index of the question on screen, or null on the review screen. */
  current: number | null;
  onGo: (index: number) => void;
}

/** Every question as a button that says, in words, whether it is answered or flagged. */
export function QuestionNavigator({ questions, answers, current, onGo }: Props) {
  const headingId = useId();
  // Group by section; an untitled section needs no heading of its own.
  const groups: { title: string | null; from: number; to: number }[] = [];
  questions.forEach((q, i) => {
    const last = groups[groups.length - 1];
    if (!last || q.startsSection) groups.push({ title: q.sectionTitle, from: i, to: i + 1 });
    else last.to = i + 1;
  });

  return (
    <nav className="card navigator" aria-labelledby={headingId}>
      <h2 id={headingId}>Questions</h2>
      {groups.map((g) => (
        <div key={g.from} className="navigator-group">
          {g.title && <h3>{g.title}</h3>}
          <ul>
            {questions.slice(g.from, g.to).map((q, k) => {
              const i = g.from + k;
              const state = questionState(q, answers);
              const classes = ['nav-question', state.answered ? 'answered' : '', state.flagged ? 'flagged' : ''];
              return (
                <li key={q.id}>
                  <button
                    type="button"
                    className={classes.join(' ').trim()}
                    aria-current={i === current ? 'step' : undefined}
                    onClick={() => onGo(i)}
                  >
                    <span className="sr-only">Question </span>
                    <span className="nav-number">{q.number}</span>{' '}
                    <span className="nav-marks">{navigatorMarks(state)}</span>
                  </button>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </nav>
  );
}
