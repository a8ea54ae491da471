import { useEffect, useRef, useState } from 'react';
import { useNow } from '../components/hooks';
import { formatRemaining, isNewWarning, remainingMs, spokenRemaining, warningFor, type TimeWarning } from './clock';
import { t } from '../i18n';

interface Props {
  deadline: string;
  /** Server clock minus device clock, from the last read of the attempt. */
  offset: number;
  onExpire: () => void;
}

/** Time left by the server's clock, with spoken warnings at 5 and 1 minute. */
export function Countdown({ deadline, offset, onExpire }: Props) {
  // A quarter second keeps the display within a tick of the true second.
  const now = useNow(250);
  const left = remainingMs(deadline, offset, now);
  const expired = left <= 0;
  const warning = warningFor(left);
  const [announced, setAnnounced] = useState<TimeWarning | null>(null);
  const expire = useRef(onExpire);
  expire.current = onExpire;

  useEffect(() => {
    if (expired) expire.current();
  }, [expired]);

  // The region is rendered empty first, so setting the text later is announced.
  useEffect(() => {
    if (isNewWarning(announced, warning)) setAnnounced(warning);
  }, [announced, warning]);

  const urgent = warning !== null;
  return (
    <div className="player-clock">
      <p role="timer" className={urgent ? 'timer urgent' : 'timer'} data-testid="timer">
        <span className="timer-label">{t('clock.left')}</span>{' '}
        <strong aria-hidden="true">{formatRemaining(left)}</strong>
        <span className="sr-only">{spokenRemaining(left)}</span>
      </p>
      <p aria-live="assertive" aria-atomic="true" className={announced ? 'time-warning' : 'time-warning empty'}>
        {announced?.message}
      </p>
    </div>
  );
}
