import { describe, expect, it, vi } from 'vitest';
import { GraphQLRequestError } from '../graphql/client';
import { ClientKeyedAction } from './clientKey';

let counter = 0;
const makeKey = () => `key-${++counter}`;

describe('ClientKeyedAction', () => {
  it('sends the same key again when the learner retries after a network error', async () => {
    const run = vi
      .fn<(key: string) => Promise<string>>()
      .mockRejectedValueOnce(new GraphQLRequestError('offline', 'network'))
      .mockResolvedValueOnce('booked');
    const action = new ClientKeyedAction(run, makeKey);

    await expect(action.perform()).rejects.toMatchObject({ kind: 'network' });
    await expect(action.perform()).resolves.toBe('booked');
    expect(run).toHaveBeenCalledTimes(2);
    expect(run.mock.calls[1]![0]).toBe(run.mock.calls[0]![0]);
  });

  it('keeps the key after a server error too, since the outcome is unknown', async () => {
    const internal = new GraphQLRequestError('x', 'graphql', [{ message: 'x', extensions: { code: 'INTERNAL' } }]);
    const run = vi.fn<(key: string) => Promise<string>>().mockRejectedValueOnce(internal).mockResolvedValueOnce('ok');
    const action = new ClientKeyedAction(run, makeKey);
    await action.perform().catch(() => {});
    await action.perform();
    expect(run.mock.calls[1]![0]).toBe(run.mock.calls[0]![0]);
  });

  it('makes a new key after a definite refusal', async () => {
    const full = new GraphQLRequestError('x', 'graphql', [{ message: 'x', extensions: { code: 'SLOT_FULL' } }]);
    const run = vi.fn<(key: string) => Promise<string>>().mockRejectedValueOnce(full).mockResolvedValueOnce('ok');
    const action = new ClientKeyedAction(run, makeKey);
    await action.perform().catch(() => {});
    await action.perform();
    expect(run.mock.calls[1]![0]).not.toBe(run.mock.calls[0]![0]);
  });

  it('runs once for a double click', async () => {
    let resolve!: (v: string) => void;
    const run = vi.fn(() => new Promise<string>((r) => (resolve = r)));
    const action = new ClientKeyedAction(run, makeKey);
    const first = action.perform();
    const second = action.perform();
    resolve('booked');
    await expect(Promise.all([first, second])).resolves.toEqual(['booked', 'booked']);
    expect(run).toHaveBeenCalledOnce();
  });

  it('gives each confirmation its own key', async () => {
    const run = vi.fn(async (key: string) => key);
    const a = await new ClientKeyedAction(run, makeKey).perform();
    const b = await new ClientKeyedAction(run, makeKey).perform();
    expect(a).not.toBe(b);
  });

  it('uses crypto.randomUUID by default', async () => {
    const key = await new ClientKeyedAction(async (k) => k).perform();
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
  });
});
