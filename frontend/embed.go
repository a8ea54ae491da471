// Package frontend embeds the built single-page app (npm run build writes it
// to dist/app) into the binary.
package frontend

import (
	"embed"
	"io/fs"
)

// dist/.gitkeep is committed so that the package compiles before the first
// frontend build; the app itself lives in dist/app.
//
//go:embed all:dist
var dist embed.FS

// App returns the built app, or nil when the frontend has not been built.
func App() fs.FS {
	app, err := fs.Sub(dist, "dist/app")
	if err != nil {
		return nil
	}
	if _, err := fs.Stat(app, "index.html"); err != nil {
		return nil
	}
	return app
}
