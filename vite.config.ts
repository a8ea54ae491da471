/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const frontend = fileURLToPath(new URL('./frontend', import.meta.url));
const goServer = 'http://localhost:8080';

// The Go server maps /playground to playground.html; do the same in dev and
// preview so the URL is identical everywhere.
function playgroundRoute(): Plugin {
  const rewrite = (req: { url?: string }, _res: unknown, next: () => void) => {
    if (req.url === '/playground' || req.url?.startsWith('/playground?')) {
      req.url = req.url.replace('/playground', '/playground.html');
    }
    next();
  };
  return {
    name: 'examgate-playground-route',
    configureServer: (server) => void server.middlewares.use(rewrite),
    configurePreviewServer: (server) => void server.middlewares.use(rewrite),
  };
}

export default defineConfig({
  root: frontend,
  base: '/',
  // Keep Vite's and Vitest's caches with the root node_modules, not in frontend/.
  cacheDir: fileURLToPath(new URL('./node_modules/.vite', import.meta.url)),
  plugins: [react(), playgroundRoute()],
  build: {
    // Only dist/app is ours: frontend/dist/.gitkeep must survive for go:embed.
    outDir: 'dist/app',
    emptyOutDir: true,
    // Emit our own assets as files, never data: URIs, so img-src/font-src 'self' suffices.
    assetsInlineLimit: 0,
    sourcemap: false,
    // GraphiQL (playground only) is big; the learner page loads ~75 kB gzipped.
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      input: {
        index: `${frontend}/index.html`,
        playground: `${frontend}/playground.html`,
      },
      output: {
        // React is shared by both pages; give its chunk a readable name.
        codeSplitting: {
          groups: [{ name: 'react', test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/ }],
        },
      },
      onLog(level, log, handler) {
        // GraphiQL's react-compiler-runtime starts with "use no memo", which
        // only matters to the React Compiler; bundling it is harmless.
        if (log.code === 'MODULE_LEVEL_DIRECTIVE' && log.id?.includes('node_modules')) return;
        handler(level, log);
      },
    },
  },
  server: {
    // Everything but the SPA itself is the Go server's.
    proxy: Object.fromEntries(
      ['/graphql', '/launch', '/demo', '/healthz', '/logout', '/ti-sim'].map((path) => [path, goServer]),
    ),
  },
  test: {
    root: frontend,
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'node',
  },
});
