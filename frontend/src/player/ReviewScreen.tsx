import type { Ref } from 'react';
import { reviewLists, type QuestionState } from './questions';
import { t, tn } from '../i18n';

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
        {t('review.heading')}
      </h2>
      <p>{tn('review.answered', states.length, { answered })}</p>
      {unanswered.length === 0 && flagged.length === 0 && <p>{t('review.allDone')}</p>}
      <QuestionList id="review-unanswered" title="review.unanswered" numbers={unanswered} onGo={onGo} />
      <QuestionList id="review-flagged" title="review.flagged" numbers={flagged} onGo={onGo} />
      <div className="actions">
        <button type="button" className="button" onClick={onSubmit}>
          {t('player.submit')}
        </button>
        <button type="button" className="button secondary" onClick={onBack}>
          {t('review.back')}
        </button>
      </div>
    </section>
  );
}

interface ListProps {
  id: string;
  title: 'review.unanswered' | 'review.flagged';
  numbers: number[];
  onGo: (n: number) => void;
}

function QuestionList({ id, title, numbers, onGo }: ListProps) {
  if (numbers.length === 0) return null;
  return (
    <div className="review-group" data-testid={id}>
      <h3 id={id}>
        {t(title, { n: numbers.length })}
      </h3>
      <ul aria-labelledby={id} className="review-links">
        {numbers.map((n) => (
          <li key={n}>
            {/* A button: it changes the question on screen, the address stays. */}
            <button type="button" className="link-button" onClick={() => onGo(n)}>
              {t('review.question', { n })}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
