import { MessagePage } from '../components/MessagePage';
import { t } from '../i18n';

// Learners arrive straight at /exams/:code from their course; this page only
// catches someone who typed the bare address.
export function Home() {
  return (
    <MessagePage title="examgate">
      <p>{t('home.text')}</p>
    </MessagePage>
  );
}
