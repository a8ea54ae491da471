import type { Ref } from 'react';
import { t } from '../i18n';

interface Props {
  headingRef: Ref<HTMLHeadingElement>;
  submitting: boolean;
  /** A retry notice while submitting, or why submitting failed. */
  message: string | null;
  onRetry: () => void;
}

/** Shown in place of the questions once the server's clock reaches the deadline. */
export function TimeUp({ headingRef, submitting, message, onRetry }: Props) {
  return (
    <section className="card time-up" aria-labelledby="time-up-heading">
      <h2 id="time-up-heading" ref={headingRef} tabIndex={-1}>
        {t('timeUp.heading')}
      </h2>
      {submitting ? (
        <p role="status">{message ?? t('timeUp.submitting')}</p>
      ) : (
        message && (
          <div role="alert" className="error-message">
            <p>{message}</p>
            <button type="button" className="button" onClick={onRetry}>
              {t('dialog.tryAgain')}
            </button>
          </div>
        )
      )}
    </section>
  );
}
