import { StrictMode, type ComponentProps } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import './playground.css';

// A separate Vite entry (playground.html): learners never download GraphiQL.
// Plain fetch with the session cookie instead of @graphiql/toolkit's fetcher,
// which would pull in a websocket client we do not need.
const fetcher: ComponentProps<typeof GraphiQL>['fetcher'] = async (params, opts) => {
  const response = await fetch('/graphql', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...opts?.headers },
    body: JSON.stringify(params),
  });
  return response.json();
};

const defaultQuery = `# Queries run with your examgate session cookie.
# Open an exam from your course (or /demo) first to be signed in.
query Me {
  me {
    firstName
    lastName
    email
  }
}
`;

const root = document.getElementById('playground');
if (!root) throw new Error('playground.html has no #playground element');

createRoot(root).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultQuery={defaultQuery} />
  </StrictMode>,
);
