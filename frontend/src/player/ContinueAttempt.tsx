import { Link } from '../components/Link';
import { playerPaths } from './routes';

/** For the dashboard: back into an attempt that is still open. */
export function ContinueAttempt({ attemptId, label = 'Continue your exam' }: { attemptId: string; label?: string }) {
  return (
    <Link className="button" href={playerPaths.attempt(attemptId)}>
      {label}
    </Link>
  );
}
