import { deliverySentence } from './delivery';
import type { Delivery } from './useDelivery';

/**
 * The delivery sentence in a polite live region. The region is rendered with
 * the first state, so screen readers announce each change after it.
 */
export function DeliveryStatus({ delivery }: { delivery: Delivery }) {
  const { state, stoppedPolling } = delivery;
  return (
    <p
      role="status"
      aria-live="polite"
      className={`delivery delivery-${state.toLowerCase()}`}
      data-testid="delivery"
      data-state={state}
    >
      {deliverySentence(state, stoppedPolling)}
    </p>
  );
}
