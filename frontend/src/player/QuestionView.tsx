import { useId, type Ref } from 'react';
import type { ItemAnswer } from './saveQueue';
import { isMultiple, type Question } from './questions';
import { t } from '../i18n';

// Checkbox clicks often come in quick runs; one save for the run is enough.
const CHECKBOX_DELAY_MS = 300;

interface Props {
  question: Question;
  total: number;
  answer: ItemAnswer | undefined;
  headingRef: Ref<HTMLHeadingElement>;
  onChoices: (choices: string[], delayMs: number) => void;
  onFlag: (flagged: boolean) => void;
  onPrevious: (() => void) | null;
  onNext: () => void;
}

export function QuestionView({ question, total, answer, headingRef, onChoices, onFlag, onPrevious, onNext }: Props) {
  const stemId = useId();
  const hintId = useId();
  const multiple = isMultiple(question.type);
  const chosen = answer?.choices ?? [];
  const flagged = answer?.flagged ?? false;

  const toggle = (optionId: string, checked: boolean) => {
    if (!multiple) return onChoices([optionId], 0);
    const next = checked ? [...chosen, optionId] : chosen.filter((c) => c !== optionId);
    // Keep the options' order so equal answers look equal to the server.
    onChoices(
      question.options.map((o) => o.id).filter((id) => next.includes(id)),
      CHECKBOX_DELAY_MS,
    );
  };

  return (
    <section className="card question" aria-labelledby={`${stemId}-h`}>
      {question.sectionTitle && <p className="section-title">{question.sectionTitle}</p>}
      <fieldset aria-describedby={multiple ? `${stemId} ${hintId}` : stemId}>
        <legend>
          <h2 id={`${stemId}-h`} ref={headingRef} tabIndex={-1} className="question-number">
            {t('question.heading', { n: question.number, total })}
          </h2>
        </legend>
        {/* Rendered and sanitised by the server from the exam's Markdown. */}
        <div id={stemId} className="stem" dangerouslySetInnerHTML={{ __html: question.stemHtml }} />
        {multiple && (
          <p id={hintId} className="hint">
            {t('question.chooseAll')}
          </p>
        )}
        <div className="options">
          {question.options.map((o) => (
            <label key={o.id} className="option">
              <input
                type={multiple ? 'checkbox' : 'radio'}
                name={`q-${question.id}`}
                value={o.id}
                checked={chosen.includes(o.id)}
                onChange={(e) => toggle(o.id, e.target.checked)}
              />
              <span>{o.text}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <div className="question-actions">
        <button type="button" className="button secondary flag" aria-pressed={flagged} onClick={() => onFlag(!flagged)}>
          {t('question.flag')}
        </button>
        <div className="step-buttons">
          {onPrevious && (
            <button type="button" className="button secondary" onClick={onPrevious}>
              {t('question.previous')}
            </button>
          )}
          <button type="button" className="button" onClick={onNext}>
            {t('question.next')}
          </button>
        </div>
      </div>
    </section>
  );
}
