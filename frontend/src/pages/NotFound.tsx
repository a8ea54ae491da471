import { MessagePage } from '../components/MessagePage';

export function NotFound() {
  return (
    <MessagePage title="Page not found">
      <p>There is nothing at this address. Open your exam from your course.</p>
    </MessagePage>
  );
}
