// How the slot picker arranges and moves through times, apart from
// rendering so the rules are unit-tested.

export type PartOfDay = 'night' | 'morning' | 'afternoon' | 'evening';

export const PARTS: { part: PartOfDay; label: string }[] = [
  { part: 'night', label: 'Night (before 6:00)' },
  { part: 'morning', label: 'Morning' },
  { part: 'afternoon', label: 'Afternoon (from 12:00)' },
  { part: 'evening', label: 'Evening (from 18:00)' },
];

/** The part of day of a local hour (0–23). */
export function partOfDay(hour: number): PartOfDay {
  if (hour < 6) return 'night';
  if (hour < 12) return 'morning';
  if (hour < 18) return 'afternoon';
  return 'evening';
}

/** Items grouped by part of day, in day order, leaving out empty parts. */
export function groupByPart<T>(items: readonly T[], hourOf: (item: T) => number) {
  return PARTS.map(({ part, label }) => ({ part, label, items: items.filter((it) => partOfDay(hourOf(it)) === part) })).filter(
    (g) => g.items.length > 0,
  );
}

/**
 * The index a key moves to in a list shown in rows of `columns`, or null for
 * a key that does not move: arrows by one or by a row, Home and End to the
 * ends. Movement stops at the ends rather than wrapping.
 */
export function moveIndex(key: string, index: number, count: number, columns = 1): number | null {
  const to = (i: number) => Math.min(count - 1, Math.max(0, i));
  switch (key) {
    case 'ArrowRight':
      return to(index + 1);
    case 'ArrowLeft':
      return to(index - 1);
    case 'ArrowDown':
      return to(index + columns);
    case 'ArrowUp':
      return to(index - columns);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
  }
  return null;
}
