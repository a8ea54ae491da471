import type { Ref } from 'react';
import { reviewLists, type QuestionState } from './questions';

interface Props {
  states: readonly QuestionState[];
  headingRef: Ref<HTMLHeadingElement>;
  onGo: (number: number) => void;
  onBack: () => void;
  onSubmit: () => void;
}

/** The last stop before submitting: what is still open, with a way back to each. */
export function ReviewScreen({ states, headingRef, onGo, onBack, onSubmit }: Props) {
  const { unanswered, flagged } = reviewLists(states);
  const answered = states.length - unanswered.length;
  return (
    <section className="card review" aria-labelledby="review-heading">
      <h2 id="review-heading" ref={headingRef} tabIndex={-1}>
        Review your answers
      </h2>
      <p>
        You have answered {answered} of {states.length} {states.length === 1 ? 'question' : 'questions'}.
      </p>
      {unanswered.length === 0 && flagged.length === 0 && <p>Every question is answered and none is flagged.</p>}
      <QuestionList id="review-unanswered" title="Unanswered" numbers={unanswered} onGo={onGo} />
      <QuestionList id="review-flagged" title="Flagged for review" numbers={flagged} onGo={onGo} />
      <div className="actions">
        <button type="button" className="button" onClick={onSubmit}>
          Submit exam
        </button>
        <button type="button" className="button secondary" onClick={onBack}>
          Back to questions
        </button>
      </div>
    </section>
  );
}

function QuestionList({ id, title, numbers, onGo }: { id: string; title: string; numbers: number[]; onGo: (n: number) => void }) {
  if (numbers.length === 0) return null;
  return (
    <div className="review-group" data-testid={id}>
      <h3 id={id}>
        {title} ({numbers.length})
      </h3>
      <ul aria-labelledby={id} className="review-links">
        {numbers.map((n) => (
          <li key={n}>
            {/* A button: it changes the question on screen, the address stays. */}
            <button type="button" className="link-button" onClick={() => onGo(n)}>
              Question {n}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
