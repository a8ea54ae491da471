import { useEffect, useRef } from 'react';
import { matchRoute, takeArrivalStatus, usePathname } from './router';
import { useSessionEnded } from './graphql/session';
import { StatusRegion, showStatus } from './components/Messages';
import { BookingPage } from './pages/BookingPage';
import { ExamDashboard } from './pages/ExamDashboard';
import { Home } from './pages/Home';
import { NotFound } from './pages/NotFound';
import { SessionEnded } from './pages/SessionEnded';
import { matchPlayerRoute, PlayerRoutes } from './player';

export function App() {
  const pathname = usePathname();
  const route = matchRoute(pathname);
  const playerRoute = matchPlayerRoute(pathname);
  const sessionEnded = useSessionEnded();
  const main = useRef<HTMLElement>(null);
  const shownPath = useRef(pathname);

  useEffect(() => {
    // A message the previous page left ("Booked for …") is shown once.
    const status = takeArrivalStatus();
    if (status !== undefined) showStatus(status);
    if (shownPath.current === pathname) return;
    shownPath.current = pathname;
    // After an in-app navigation, start reading and tabbing at the new page.
    window.scrollTo(0, 0);
    main.current?.focus({ preventScroll: true });
  }, [pathname]);

  return (
    <>
      <header className="site-header">
        <span className="brand">examgate</span>
      </header>
      <main id="main" ref={main} tabIndex={-1} className="content">
        <StatusRegion />
        {sessionEnded ? (
          <SessionEnded />
        ) : playerRoute ? (
          <PlayerRoutes route={playerRoute} />
        ) : route.page === 'exam' ? (
          // key: a different exam is a fresh page, not a re-render of the last one.
          <ExamDashboard key={route.code} code={route.code} />
        ) : route.page === 'book' ? (
          <BookingPage key={`book:${route.code}`} code={route.code} />
        ) : route.page === 'reschedule' ? (
          <BookingPage key={`re:${route.code}:${route.bookingId}`} code={route.code} bookingId={route.bookingId} />
        ) : route.page === 'home' ? (
          <Home />
        ) : (
          <NotFound />
        )}
      </main>
    </>
  );
}
