package server

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// handleApp serves the SPA: a file of the build when the path names one,
// index.html for any other path so that client-side routes survive a reload.
func (s *Server) handleApp(w http.ResponseWriter, r *http.Request) {
	if s.App == nil {
		http.Error(w, "The web app is not built. Run `make build` (or `npm ci && npm run build`) and restart.", http.StatusServiceUnavailable)
		return
	}
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name != "" && name != "index.html" && name != "playground.html" {
		if st, err := fs.Stat(s.App, name); err == nil && !st.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				// Vite puts a content hash in every asset name.
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			if !servePrecompressed(w, r, s.App, name) {
				http.ServeFileFS(w, r, s.App, name)
			}
			return
		}
		if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
			http.NotFound(w, r)
			return
		}
	}
	s.serveHTML(w, r, "index.html")
}

func (s *Server) handlePlayground(w http.ResponseWriter, r *http.Request) {
	s.serveHTML(w, r, "playground.html")
}

func (s *Server) serveHTML(w http.ResponseWriter, r *http.Request, name string) {
	if s.App == nil {
		s.handleApp(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	if servePrecompressed(w, r, s.App, name) {
		return
	}
	b, err := fs.ReadFile(s.App, name)
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
}
