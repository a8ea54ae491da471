import type { DeliveryState } from '../gql/graphql';
import { t } from '../i18n';

// How the page follows a result on its way to the learning platform. The
// worker usually delivers within seconds; a slow or broken platform must not
// keep a forgotten tab polling for ever, so polling is bounded.

export const POLL_INTERVAL_MS = 2_000;
export const POLL_LIMIT_MS = 5 * 60_000;

/**
 * Milliseconds until the next look at the delivery state, or null to stop:
 * once it is settled (SENT or FAILED), or when another look would fall
 * after the limit counted from when the page started polling.
 */
export function nextPoll(state: DeliveryState, pollingSince: number, now: number): number | null {
  if (state !== 'SENDING') return null;
  return now + POLL_INTERVAL_MS <= pollingSince + POLL_LIMIT_MS ? POLL_INTERVAL_MS : null;
}

/**
 * The sentence for the delivery state. `stoppedPolling` is true when the page
 * stopped asking while still SENDING: the server keeps trying regardless.
 */
export function deliverySentence(state: DeliveryState, stoppedPolling = false): string {
  switch (state) {
    case 'SENDING':
      return stoppedPolling ? t('delivery.sendingLong') : t('delivery.sending');
    case 'SENT':
      return t('delivery.sent');
    case 'FAILED':
      return t('delivery.failed');
  }
}
