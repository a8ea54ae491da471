import { MessagePage } from '../components/MessagePage';
import { t } from '../i18n';

export function NotFound() {
  return (
    <MessagePage title={t('notFound.title')}>
      <p>{t('notFound.text')}</p>
    </MessagePage>
  );
}
