import { MessagePage } from '../components/MessagePage';

// Sessions only start from the course launch link, so the course is the
// only place to send the learner. The page cannot tell an ended session from
// a browser that never had one (the cookie is not readable here), so it
// words both alike.
export function SessionEnded() {
  return (
    <MessagePage title="Sign in through your course">
      <p>
        This browser is not signed in to examgate, or its session has ended. Sign-in always starts from your course: go
        back to it and open the exam again.
      </p>
    </MessagePage>
  );
}
