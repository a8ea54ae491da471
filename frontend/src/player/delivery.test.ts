import { describe, expect, it } from 'vitest';
import { deliverySentence, nextPoll, POLL_INTERVAL_MS, POLL_LIMIT_MS } from './delivery';

describe('deliverySentence', () => {
  it('words each delivery state', () => {
    expect(deliverySentence('SENDING')).toBe('Sending your result to your course…');
    expect(deliverySentence('SENT')).toBe('Sent to your course.');
    expect(deliverySentence('FAILED')).toBe(
      'We could not send your result to your course yet. Support has been told; you do not need to do anything.',
    );
  });

  it('says the server keeps trying once the page stopped polling', () => {
    expect(deliverySentence('SENDING', true)).toMatch(/still on its way.*keep trying/);
    // A settled state reads the same however it was reached.
    expect(deliverySentence('SENT', true)).toBe('Sent to your course.');
  });
});

describe('nextPoll', () => {
  const since = 1_000_000;

  it('polls every 2 seconds while sending', () => {
    expect(POLL_INTERVAL_MS).toBe(2_000);
    expect(nextPoll('SENDING', since, since)).toBe(2_000);
    expect(nextPoll('SENDING', since, since + 60_000)).toBe(2_000);
  });

  it('stops when the delivery is settled', () => {
    expect(nextPoll('SENT', since, since)).toBeNull();
    expect(nextPoll('FAILED', since, since)).toBeNull();
  });

  it('stops after 5 minutes: no look falls after the limit', () => {
    expect(POLL_LIMIT_MS).toBe(300_000);
    expect(nextPoll('SENDING', since, since + POLL_LIMIT_MS - POLL_INTERVAL_MS)).toBe(2_000);
    expect(nextPoll('SENDING', since, since + POLL_LIMIT_MS - POLL_INTERVAL_MS + 1)).toBeNull();
    expect(nextPoll('SENDING', since, since + POLL_LIMIT_MS + 10_000)).toBeNull();
  });
});
