import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GraphQLRequestError } from '../graphql/client';
import { AnswerStore, type Transport } from './answerStore';
import { classifyError } from './errors';
import { storageKey, type SaveEntry, type ServerAnswer } from './saveQueue';

class MemoryStorage {
  data = new Map<string, string>();
  getItem = (k: string) => this.data.get(k) ?? null;
  setItem = (k: string, v: string) => void this.data.set(k, v);
  removeItem = (k: string) => void this.data.delete(k);
}

/** A server that stores like examgate's and can be told to fail. */
function fakeServer() {
  const rows = new Map<string, { choices: readonly string[]; choicesSeq: number; flagged: boolean; flagSeq: number }>();
  const sent: SaveEntry[] = [];
  const failures: unknown[] = [];
  const transport: Transport = {
    async send(e) {
      sent.push(e);
      const failure = failures.shift();
      if (failure) throw failure;
      const row = rows.get(e.itemId) ?? { choices: [], choicesSeq: 0, flagged: false, flagSeq: 0 };
      if (e.kind === 'choices' && e.seq > row.choicesSeq) Object.assign(row, { choices: e.choices, choicesSeq: e.seq });
      if (e.kind === 'flag' && e.seq > row.flagSeq) Object.assign(row, { flagged: e.flagged, flagSeq: e.seq });
      rows.set(e.itemId, row);
      const clientSeq = e.kind === 'choices' ? row.choicesSeq : row.flagSeq;
      return { itemId: e.itemId, choices: row.choices, flagged: row.flagged, clientSeq } satisfies ServerAnswer;
    },
    classify: classifyError,
  };
  return { rows, sent, failures, transport };
}

const network = () => new GraphQLRequestError('offline', 'network');
const coded = (code: string) =>
  new GraphQLRequestError(`${code} message`, 'graphql', [{ message: `${code} message`, extensions: { code } }], null, 200);

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('AnswerStore', () => {
  it('sends changes one at a time in order and reports Saved', async () => {
    const server = fakeServer();
    const store = new AnswerStore({ attemptId: '1', server: [], transport: server.transport, storage: new MemoryStorage() });
    store.start();
    store.setChoices('a', ['x']);
    store.setFlag('b', true);
    store.setChoices('a', ['y']);
    expect(store.getSnapshot().phase).toBe('saving');
    expect(store.getSnapshot().answers.a).toEqual({ choices: ['y'], flagged: false });
    await vi.runAllTimersAsync();
    expect(server.sent.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(server.rows.get('a')?.choices).toEqual(['y']);
    expect(store.getSnapshot()).toMatchObject({ phase: 'saved', pending: 0 });
  });

  it('persists the queue first, so a new page resumes it', async () => {
    const storage = new MemoryStorage();
    const offline = fakeServer();
    offline.failures.push(network(), network(), network());
    const first = new AnswerStore({ attemptId: '7', server: [], transport: offline.transport, storage });
    first.start();
    first.setChoices('a', ['x']);
    first.setFlag('a', true);
    await vi.advanceTimersByTimeAsync(0);
    expect(first.getSnapshot().phase).toBe('retrying');
    first.stop(); // the tab is closed

    const online = fakeServer();
    const second = new AnswerStore({ attemptId: '7', server: [], transport: online.transport, storage });
    expect(second.getSnapshot().answers.a).toEqual({ choices: ['x'], flagged: true });
    second.start();
    await vi.runAllTimersAsync();
    expect(online.sent.map((e) => [e.kind, e.seq])).toEqual([
      ['choices', 1],
      ['flag', 2],
    ]);
    expect(JSON.parse(storage.getItem(storageKey('7'))!)).toEqual({ seq: 2, queue: [] });
  });

  it('retries after 1 s, 2 s, 4 s … on network errors and 5xx', async () => {
    const server = fakeServer();
    server.failures.push(network(), new GraphQLRequestError('bad gateway', 'http', [], null, 502), coded('INTERNAL'));
    const store = new AnswerStore({ attemptId: '1', server: [], transport: server.transport, storage: null });
    store.start();
    store.setChoices('a', ['x']);
    await vi.advanceTimersByTimeAsync(0);
    expect(server.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(server.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(server.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.sent).toHaveLength(3);
    expect(store.getSnapshot().phase).toBe('retrying');
    await vi.advanceTimersByTimeAsync(4000);
    expect(server.sent).toHaveLength(4);
    expect(store.getSnapshot().phase).toBe('saved');
  });

  it('drops a change the server refuses and says why', async () => {
    const server = fakeServer();
    server.failures.push(coded('INVALID'));
    const store = new AnswerStore({ attemptId: '1', server: [], transport: server.transport, storage: null });
    store.start();
    store.setChoices('a', ['nope']);
    store.setChoices('b', ['x']);
    await vi.runAllTimersAsync();
    expect(store.getSnapshot().answers.a).toBeUndefined();
    expect(server.rows.get('b')?.choices).toEqual(['x']);
    expect(store.getSnapshot()).toMatchObject({ phase: 'saved', rejected: 'INVALID message' });
    store.setFlag('b', true);
    expect(store.getSnapshot().rejected).toBeNull();
  });

  it('stops on CONFLICT, forgets the queue and reports the end', async () => {
    const storage = new MemoryStorage();
    const server = fakeServer();
    server.failures.push(coded('CONFLICT'));
    const onEnded = vi.fn();
    const store = new AnswerStore({ attemptId: '3', server: [], transport: server.transport, storage, onEnded });
    store.start();
    store.setChoices('a', ['x']);
    const flushed = store.flush(5000);
    await vi.runAllTimersAsync();
    await expect(flushed).resolves.toBe('ended');
    expect(onEnded).toHaveBeenCalledOnce();
    expect(storage.getItem(storageKey('3'))).toBeNull();
    store.setChoices('a', ['y']);
    expect(server.sent).toHaveLength(1);
  });

  it('shows the server state when a newer save won (accepted: false)', async () => {
    const server = fakeServer();
    server.rows.set('a', { choices: ['other-tab'], choicesSeq: 50, flagged: false, flagSeq: 0 });
    const store = new AnswerStore({ attemptId: '1', server: [], transport: server.transport, storage: null });
    store.start();
    store.setChoices('a', ['x']);
    await vi.runAllTimersAsync();
    expect(store.getSnapshot().answers.a?.choices).toEqual(['other-tab']);
  });

  it('sends checkbox changes once they pause, and at once on flush', async () => {
    const server = fakeServer();
    const store = new AnswerStore({ attemptId: '1', server: [], transport: server.transport, storage: null });
    store.start();
    store.setChoices('a', ['x'], 300);
    await vi.advanceTimersByTimeAsync(200);
    store.setChoices('a', ['x', 'y'], 300);
    await vi.advanceTimersByTimeAsync(200);
    expect(server.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(server.sent.map((e) => e.seq)).toEqual([2]);

    store.setChoices('a', ['y'], 300);
    const flushed = store.flush(5000);
    await vi.advanceTimersByTimeAsync(0);
    await expect(flushed).resolves.toBe('done');
    expect(server.sent.map((e) => e.seq)).toEqual([2, 3]);
  });

  it('gives up a flush after its timeout while the network is down', async () => {
    const server = fakeServer();
    for (let i = 0; i < 10; i++) server.failures.push(network());
    const store = new AnswerStore({ attemptId: '1', server: [], transport: server.transport, storage: null });
    store.start();
    store.setChoices('a', ['x']);
    const flushed = store.flush(3500);
    await vi.advanceTimersByTimeAsync(3500);
    await expect(flushed).resolves.toBe('timeout');
    expect(server.sent).toHaveLength(3); // at 0, 1 s and 3 s
  });

  it('stops and keeps the queue when the session has ended', async () => {
    const storage = new MemoryStorage();
    const server = fakeServer();
    server.failures.push(coded('UNAUTHENTICATED'));
    const onSessionEnded = vi.fn();
    const store = new AnswerStore({ attemptId: '4', server: [], transport: server.transport, storage, onSessionEnded });
    store.start();
    store.setChoices('a', ['x']);
    await vi.runAllTimersAsync();
    expect(onSessionEnded).toHaveBeenCalledOnce();
    expect(store.getSnapshot().phase).toBe('stopped');
    expect(JSON.parse(storage.getItem(storageKey('4'))!).queue).toHaveLength(1);
  });
});
