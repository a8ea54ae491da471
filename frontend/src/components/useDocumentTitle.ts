import { useEffect } from 'react';

/** Gives each page its own tab title, which screen readers announce on load. */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · examgate` : 'examgate';
  }, [title]);
}
