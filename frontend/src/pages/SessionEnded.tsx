import { MessagePage } from '../components/MessagePage';

// Sessions only start from the course launch link, so the course is the
// only place to send the learner back to.
export function SessionEnded() {
  return (
    <MessagePage title="Your session has ended">
      <p>Your session has ended. Go back to your course and open the exam again.</p>
    </MessagePage>
  );
}
