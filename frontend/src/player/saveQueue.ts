// The pure rules of autosave: what is kept in localStorage, how a reload
// merges it with the server, and how long to wait before a retry. The
// AnswerStore (answerStore.ts) applies them; keeping them here makes the
// ordering rules testable without timers or a network.

export interface ItemAnswer {
  choices: readonly string[];
  flagged: boolean;
}

/** An answer as the server returns it; clientSeq is the highest it stored for the item. */
export interface ServerAnswer extends ItemAnswer {
  itemId: string;
  clientSeq: number;
}

/** One change the server has not confirmed yet. */
export type SaveEntry =
  | { kind: 'choices'; itemId: string; seq: number; choices: readonly string[] }
  | { kind: 'flag'; itemId: string; seq: number; flagged: boolean };

/** What survives a reload: the last sequence number used and the unconfirmed changes, oldest first. */
export interface LocalState {
  seq: number;
  queue: SaveEntry[];
}

export const storageKey = (attemptId: string) => `examgate.attempt.${attemptId}`;

const MAX_DELAY_MS = 30_000;

/** Wait before retry number `failures` (1-based): 1 s, 2 s, 4 s … at most 30 s. */
export function retryDelay(failures: number): number {
  return Math.min(1000 * 2 ** Math.max(0, failures - 1), MAX_DELAY_MS);
}

/**
 * Adds a change at the end of the queue. A queued change of the same item and
 * kind is replaced (only the newest matters), except the one being sent now,
 * which must stay until its answer arrives. The queue thus stays sorted by seq.
 */
export function enqueue(queue: readonly SaveEntry[], entry: SaveEntry, inFlightSeq: number | null = null): SaveEntry[] {
  return [
    ...queue.filter((e) => e.seq === inFlightSeq || e.itemId !== entry.itemId || e.kind !== entry.kind),
    entry,
  ];
}

/**
 * Merges the browser's unconfirmed changes with the server's answers after a
 * reload. The server's clientSeq per item is the newest save it stored (of
 * either kind); a local change with a higher seq is newer and is kept to be
 * sent again, anything else is already stored or was overtaken. The next seq
 * must beat every seq the server has seen, or the server would ignore it.
 */
export function resume(local: LocalState | null, server: readonly ServerAnswer[]): LocalState {
  const stored = new Map(server.map((a) => [a.itemId, a.clientSeq]));
  const queue = (local?.queue ?? []).filter((e) => e.seq > (stored.get(e.itemId) ?? 0));
  const seq = Math.max(local?.seq ?? 0, ...server.map((a) => a.clientSeq), ...queue.map((e) => e.seq));
  return { seq, queue };
}

/** The answers to show: the confirmed ones with the unconfirmed changes on top. */
export function withPending(
  confirmed: Readonly<Record<string, ItemAnswer>>,
  queue: readonly SaveEntry[],
): Record<string, ItemAnswer> {
  const out: Record<string, ItemAnswer> = { ...confirmed };
  for (const e of queue) {
    const prev = out[e.itemId] ?? { choices: [], flagged: false };
    out[e.itemId] = e.kind === 'choices' ? { ...prev, choices: e.choices } : { ...prev, flagged: e.flagged };
  }
  return out;
}

function isEntry(value: unknown): value is SaveEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  if (typeof e.itemId !== 'string' || !Number.isSafeInteger(e.seq)) return false;
  if (e.kind === 'choices') return Array.isArray(e.choices) && e.choices.every((c) => typeof c === 'string');
  return e.kind === 'flag' && typeof e.flagged === 'boolean';
}

/** Reads what a previous page left; anything unreadable counts as nothing. */
export function parseLocal(text: string | null): LocalState | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<LocalState>;
    if (!Number.isSafeInteger(value.seq) || !Array.isArray(value.queue)) return null;
    return { seq: value.seq!, queue: value.queue.filter(isEntry) };
  } catch {
    return null;
  }
}
