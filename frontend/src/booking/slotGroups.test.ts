import { describe, expect, it } from 'vitest';
import { groupByPart, moveIndex, partOfDay } from './slotGroups';

describe('slot groups', () => {
  it('puts hours in parts of the day', () => {
    expect([0, 5, 6, 11, 12, 17, 18, 23].map(partOfDay)).toEqual([
      'night', 'night', 'morning', 'morning', 'afternoon', 'afternoon', 'evening', 'evening',
    ]);
  });

  it('groups in day order and leaves out empty parts', () => {
    const groups = groupByPart([9, 13, 8, 20], (h) => h);
    expect(groups.map((g) => [g.part, g.items])).toEqual([
      ['morning', [9, 8]],
      ['afternoon', [13]],
      ['evening', [20]],
    ]);
  });

  it('moves by arrow keys within the ends', () => {
    expect(moveIndex('ArrowRight', 0, 10, 4)).toBe(1);
    expect(moveIndex('ArrowDown', 1, 10, 4)).toBe(5);
    expect(moveIndex('ArrowDown', 8, 10, 4)).toBe(9);
    expect(moveIndex('ArrowUp', 2, 10, 4)).toBe(0);
    expect(moveIndex('ArrowLeft', 0, 10)).toBe(0);
    expect(moveIndex('End', 3, 10)).toBe(9);
    expect(moveIndex('Home', 3, 10)).toBe(0);
    expect(moveIndex('Enter', 3, 10)).toBeNull();
  });
});
