import { MessagePage } from '../components/MessagePage';
import { t } from '../i18n';

// Sessions only start from the course launch link, so the course is the
// only place to send the learner. The page cannot tell an ended session from
// a browser that never had one (the cookie is not readable here), so it
// words both alike.
export function SessionEnded() {
  return (
    <MessagePage title={t('session.title')}>
      <p>{t('session.text')}</p>
    </MessagePage>
  );
}
