import { matchRoute, usePathname } from './router';
import { ExamDashboard } from './pages/ExamDashboard';
import { Home } from './pages/Home';
import { NotFound } from './pages/NotFound';

export function App() {
  const route = matchRoute(usePathname());
  return (
    <>
      <header className="site-header">
        <span className="brand">examgate</span>
      </header>
      <main id="main" className="content">
        {route.page === 'exam' ? (
          // key: a different exam is a fresh page, not a re-render of the last one.
          <ExamDashboard key={route.code} code={route.code} />
        ) : route.page === 'home' ? (
          <Home />
        ) : (
          <NotFound />
        )}
      </main>
    </>
  );
}
