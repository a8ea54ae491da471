import { MessagePage } from '../components/MessagePage';

// Learners arrive straight at /exams/:code from their course; this page only
// catches someone who typed the bare address.
export function Home() {
  return (
    <MessagePage title="examgate">
      <p>Open your exam from your course.</p>
    </MessagePage>
  );
}
