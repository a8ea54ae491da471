import { Link } from '../components/Link';
import { request } from '../graphql/client';
import type { DeliveryState } from '../gql/graphql';
import { DeliveryStatus } from './DeliveryStatus';
import { LatestResultDeliveryDocument } from './operations';
import { summarySentence } from './result';
import { playerPaths } from './routes';
import { useDelivery } from './useDelivery';
import './player.css';
import { t } from '../i18n';

export interface ResultSummary {
  attemptId: string;
  examCode: string;
  passed: boolean;
  percent: number;
  delivery: DeliveryState;
}

/** For the dashboard: the latest result in a sentence, its delivery, and a link to it. */
export function LatestResult({ result }: { result: ResultSummary }) {
  const { attemptId, examCode } = result;
  const delivery = useDelivery(attemptId, result.delivery, (signal) =>
    request(LatestResultDeliveryDocument, { code: examCode }, { signal }).then((d) =>
      // A newer result has its own delivery; this one's is no longer asked for.
      d.result?.attemptId === attemptId ? d.result.delivery : null,
    ),
  );
  return (
    <div className="result-summary" data-testid="result-summary">
      <p className={result.passed ? 'summary passed' : 'summary failed'}>{summarySentence(result)}</p>
      <DeliveryStatus delivery={delivery} />
      <p>
        <Link href={playerPaths.result(attemptId)}>{t('result.see')}</Link>
      </p>
    </div>
  );
}
