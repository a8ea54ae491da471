import { Link } from '../components/Link';
import { playerPaths } from './routes';
import { t } from '../i18n';

/** For the dashboard: back into an attempt that is still open. */
export function ContinueAttempt({ attemptId, label = t('attempt.continue') }: { attemptId: string; label?: string }) {
  return (
    <Link className="button" href={playerPaths.attempt(attemptId)}>
      {label}
    </Link>
  );
}
