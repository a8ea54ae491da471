import { Fragment, type ReactNode } from 'react';
import { t, type Key } from './index';

/**
 * The sentence `key` with elements in place of its placeholders, for
 * sentences that hold markup such as a <time>: the word order stays the
 * catalogue's, whatever the language.
 */
export function tNodes(key: Key, params: Record<string, ReactNode>): ReactNode {
  const marker = '\u0000';
  const names: string[] = [];
  const text = t(
    key,
    Object.fromEntries(
      Object.keys(params).map((name) => {
        names.push(name);
        return [name, `${marker}${names.length - 1}${marker}`];
      }),
    ),
  );
  return text.split(marker).map((part, i) => (
    <Fragment key={i}>{i % 2 === 1 ? params[names[Number(part)]!] : part}</Fragment>
  ));
}
