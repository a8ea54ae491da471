import { useEffect, useId, useRef, type ReactNode } from 'react';
import type { Problem } from '../booking/errors';
import { ErrorMessage } from './Messages';
import { t } from '../i18n';

interface Props {
  /** The question, e.g. "Book 30 November 2026 at 10:00 (Europe/Amsterdam)?" */
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  busyLabel: string;
  busy: boolean;
  /** A failure worth retrying; the confirm button then sends the same request again. */
  error: Problem | null;
  onConfirm: () => void;
  onClose: () => void;
  /** Where focus starts: the harmless choice for destructive questions. */
  initialFocus?: 'confirm' | 'back';
}

/**
 * A modal <dialog>: showModal() makes the page behind it inert (focus stays
 * inside) and Escape closes it. Render it only while open.
 */
export function ConfirmDialog(props: Props) {
  const { title, children, confirmLabel, busyLabel, busy, error, onConfirm, onClose, initialFocus = 'confirm' } = props;
  const dialog = useRef<HTMLDialogElement>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  const back = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();
  // Latest props for the native listeners, which are attached once.
  const latest = useRef({ busy, onClose });
  latest.current = { busy, onClose };

  useEffect(() => {
    const el = dialog.current!;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    el.showModal();
    (initialFocus === 'back' ? back : confirm).current?.focus();
    const onCancel = (e: Event) => {
      e.preventDefault(); // React decides when the dialog goes away
      if (!latest.current.busy) latest.current.onClose();
    };
    // The browser may still close it (repeated Escape); keep React in step.
    const onNativeClose = () => latest.current.onClose();
    el.addEventListener('cancel', onCancel);
    el.addEventListener('close', onNativeClose);
    return () => {
      el.removeEventListener('cancel', onCancel);
      el.removeEventListener('close', onNativeClose);
      el.close();
      // Back to what opened the dialog, if the page still shows it.
      if (opener?.isConnected) opener.focus();
    };
  }, []); // once: initialFocus only matters when opening

  // After a failed attempt the button is enabled again: put focus back on it.
  useEffect(() => {
    if (error && !busy) confirm.current?.focus();
  }, [error, busy]);

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby={titleId} aria-describedby={children ? bodyId : undefined}>
      <h2 id={titleId}>{title}</h2>
      {children && <div id={bodyId}>{children}</div>}
      {error && <ErrorMessage problem={error} />}
      <div className="actions">
        <button ref={confirm} type="button" className="button" disabled={busy} onClick={onConfirm}>
          {busy ? busyLabel : error ? t('dialog.tryAgain') : confirmLabel}
        </button>
        <button ref={back} type="button" className="button secondary" disabled={busy} onClick={onClose}>
          {t('dialog.back')}
        </button>
      </div>
    </dialog>
  );
}
