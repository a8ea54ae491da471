/// <reference types="vitest/config" />
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
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

// Writes name.br and name.gz beside every compressible file of the build,
// at the highest settings (done once, served many times); the Go server
// sends the one the browser accepts. A copy that saves less than a tenth is
// not written.
function precompress(): Plugin {
  const compressible = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/;
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const file = path.join(dir, name);
      return statSync(file).isDirectory() ? walk(file) : [file];
    });
  let outDir = '';
  return {
    name: 'examgate-precompress',
    apply: 'build',
    configResolved: (config) => void (outDir = path.resolve(config.root, config.build.outDir)),
    closeBundle() {
      for (const file of walk(outDir).filter((f) => compressible.test(f))) {
        const data = readFileSync(file);
        if (data.length < 1024) continue;
        const variants: [string, Buffer][] = [
          ['.br', brotliCompressSync(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length } })],
          ['.gz', gzipSync(data, { level: 9 })],
        ];
        for (const [suffix, packed] of variants) {
          if (packed.length <= data.length * 0.9) writeFileSync(file + suffix, packed);
        }
      }
    },
  };
}

export default defineConfig({
  root: frontend,
  base: '/',
  // Keep Vite's and Vitest's caches with the root node_modules, not in frontend/.
  cacheDir: fileURLToPath(new URL('./node_modules/.vite', import.meta.url)),
  plugins: [react(), playgroundRoute(), precompress()],
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
