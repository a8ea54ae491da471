import type { ReactNode } from 'react';
import { useDocumentTitle } from './useDocumentTitle';

/** A page that only tells the learner something: no session, no exam, an error. */
export function MessagePage({ title, children }: { title: string; children?: ReactNode }) {
  useDocumentTitle(title);
  return (
    <section className="card message">
      <h1>{title}</h1>
      {children}
    </section>
  );
}
