import { AttemptPage } from './AttemptPage';
import type { PlayerRoute } from './routes';
import { StartPage } from './StartPage';

/** Renders a player page; keys make a different attempt or exam a fresh page. */
export function PlayerRoutes({ route }: { route: PlayerRoute }) {
  switch (route.page) {
    case 'attempt':
      return <AttemptPage key={`attempt:${route.id}`} id={route.id} />;
    case 'attempt-result':
      return <AttemptPage key={`result:${route.id}`} id={route.id} resultPage />;
    case 'start':
      return <StartPage key={`start:${route.code}`} code={route.code} />;
  }
}
