import type { Failure } from './errors';
import {
  enqueue,
  parseLocal,
  resume,
  retryDelay,
  storageKey,
  withPending,
  type ItemAnswer,
  type SaveEntry,
  type ServerAnswer,
} from './saveQueue';

// The learner's answers of one attempt and the queue that saves them. Every
// change is written to localStorage before it is sent, and sent one at a time
// in order, so a reload or a lost connection loses nothing and the server
// never sees an older change after a newer one.

export type SavePhase = 'idle' | 'saving' | 'saved' | 'retrying' | 'ended' | 'stopped';

export interface Snapshot {
  answers: Readonly<Record<string, ItemAnswer>>;
  pending: number;
  phase: SavePhase;
  /** Why the last refused change was dropped (INVALID), until the learner's next change. */
  rejected: string | null;
}

export type FlushResult = 'done' | 'ended' | 'stopped' | 'timeout';

export interface Transport {
  send(entry: SaveEntry): Promise<ServerAnswer>;
  classify(error: unknown): Failure;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(id: unknown): void;
}

const browserTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

interface Options {
  attemptId: string;
  server: readonly ServerAnswer[];
  transport: Transport;
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
  timers?: Timers;
  onEnded?: () => void;
  onSessionEnded?: () => void;
}

export class AnswerStore {
  private seq: number;
  private queue: SaveEntry[];
  private confirmed: Record<string, ItemAnswer> = {};
  private phase: SavePhase;
  private rejected: string | null = null;
  private failures = 0;
  private inFlight: SaveEntry | null = null;
  private retryTimer: unknown = null;
  private holdTimer: unknown = null;
  private running = false;
  private waiters = new Set<(result: FlushResult) => void>();
  private listeners = new Set<() => void>();
  private snapshot!: Snapshot;
  private readonly key: string;
  private readonly timers: Timers;

  constructor(private readonly options: Options) {
    this.key = storageKey(options.attemptId);
    this.timers = options.timers ?? browserTimers;
    for (const a of options.server) this.confirmed[a.itemId] = { choices: a.choices, flagged: a.flagged };
    const local = resume(parseLocal(this.read()), options.server);
    this.seq = local.seq;
    this.queue = local.queue;
    this.phase = this.queue.length > 0 ? 'saving' : 'idle';
    this.persist();
    this.update();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): Snapshot => this.snapshot;

  /** Starts sending (again, after stop()). */
  start(): void {
    if (this.phase === 'ended' || this.phase === 'stopped') return;
    this.running = true;
    this.kick();
  }

  /** Stops sending; a request in flight still completes. Changes stay stored. */
  stop(): void {
    this.running = false;
    this.clearTimers();
  }

  /** `delayMs` lets quick successive changes (checkboxes) go out as one save. */
  setChoices(itemId: string, choices: readonly string[], delayMs = 0): void {
    this.change({ kind: 'choices', itemId, seq: 0, choices: [...choices] }, delayMs);
  }

  setFlag(itemId: string, flagged: boolean): void {
    this.change({ kind: 'flag', itemId, seq: 0, flagged }, 0);
  }

  /** Sends now instead of after the backoff (the connection came back). */
  retryNow(): void {
    this.clearTimers();
    this.kick();
  }

  /** Sends everything now; resolves when the queue is empty, or why it cannot be. */
  flush(timeoutMs: number): Promise<FlushResult> {
    if (this.phase === 'ended' || this.phase === 'stopped') return Promise.resolve(this.phase);
    if (this.queue.length === 0 && !this.inFlight) return Promise.resolve('done');
    return new Promise((resolve) => {
      const timer = this.timers.set(() => finish('timeout'), timeoutMs);
      const finish = (result: FlushResult) => {
        this.timers.clear(timer);
        this.waiters.delete(finish);
        resolve(result);
      };
      this.waiters.add(finish);
      this.retryNow();
    });
  }

  /** Drops the stored queue once the attempt has ended: nothing can be saved any more. */
  forget(): void {
    this.stop();
    try {
      this.options.storage?.removeItem(this.key);
    } catch {
      // storage blocked: nothing was stored either
    }
  }

  private change(entry: SaveEntry, delayMs: number): void {
    if (this.phase === 'ended' || this.phase === 'stopped') return;
    const next = { ...entry, seq: ++this.seq };
    this.rejected = null; // the learner has seen it and moved on
    this.queue = enqueue(this.queue, next, this.inFlight?.seq ?? null);
    if (this.phase !== 'retrying') this.phase = 'saving';
    this.persist();
    this.update();
    if (delayMs > 0 && !this.inFlight) {
      if (this.holdTimer !== null) this.timers.clear(this.holdTimer);
      this.holdTimer = this.timers.set(() => {
        this.holdTimer = null;
        this.kick();
      }, delayMs);
    } else {
      if (this.holdTimer !== null) this.timers.clear(this.holdTimer);
      this.holdTimer = null;
      this.kick();
    }
  }

  private kick(): void {
    if (!this.running || this.inFlight || this.retryTimer !== null || this.holdTimer !== null) return;
    const entry = this.queue[0];
    if (!entry) {
      this.settle('done');
      return;
    }
    this.inFlight = entry;
    this.options.transport.send(entry).then(
      (stored) => this.succeeded(entry, stored),
      (error: unknown) => this.failed(entry, this.options.transport.classify(error)),
    );
  }

  private succeeded(entry: SaveEntry, stored: ServerAnswer): void {
    this.inFlight = null;
    this.failures = 0;
    // The row holds both the choices and the flag; accepted or not, it is the server's truth.
    this.confirmed = { ...this.confirmed, [stored.itemId]: { choices: stored.choices, flagged: stored.flagged } };
    this.remove(entry);
    this.phase = this.queue.length > 0 ? 'saving' : 'saved';
    this.persist();
    this.update();
    this.kick();
  }

  private failed(entry: SaveEntry, failure: Failure): void {
    this.inFlight = null;
    switch (failure.kind) {
      case 'retry':
        this.failures++;
        this.phase = 'retrying';
        this.update();
        if (this.running) {
          this.retryTimer = this.timers.set(() => {
            this.retryTimer = null;
            this.kick();
          }, retryDelay(this.failures));
        }
        return;
      case 'drop':
        this.failures = 0;
        this.rejected = failure.message;
        this.remove(entry);
        this.phase = this.queue.length > 0 ? 'saving' : 'saved';
        this.persist();
        this.update();
        this.kick();
        return;
      case 'ended':
        this.phase = 'ended';
        this.forget();
        this.update();
        this.settle('ended');
        this.options.onEnded?.();
        return;
      case 'session':
        // The queue stays stored: a new launch resumes it.
        this.phase = 'stopped';
        this.stop();
        this.update();
        this.settle('stopped');
        this.options.onSessionEnded?.();
        return;
    }
  }

  private remove(entry: SaveEntry): void {
    this.queue = this.queue.filter((e) => e.seq !== entry.seq);
  }

  private settle(result: FlushResult): void {
    [...this.waiters].forEach((finish) => finish(result));
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) this.timers.clear(this.retryTimer);
    if (this.holdTimer !== null) this.timers.clear(this.holdTimer);
    this.retryTimer = this.holdTimer = null;
  }

  private read(): string | null {
    try {
      return this.options.storage?.getItem(this.key) ?? null;
    } catch {
      return null;
    }
  }

  private persist(): void {
    if (this.phase === 'ended') return;
    try {
      this.options.storage?.setItem(this.key, JSON.stringify({ seq: this.seq, queue: this.queue }));
    } catch {
      // Quota or privacy mode: the queue still lives for this page.
    }
  }

  private update(): void {
    this.snapshot = {
      answers: withPending(this.confirmed, this.queue),
      pending: this.queue.length,
      phase: this.phase,
      rejected: this.rejected,
    };
    this.listeners.forEach((notify) => notify());
  }
}
