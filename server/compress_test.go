package server_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/server"
)

// Assets go out precompressed in the best encoding the browser accepts;
// GraphQL answers are compressed as they are written, small ones not.
func TestCompression(t *testing.T) {
	script := []byte(strings.Repeat("console.log('examgate');\n", 200))
	app := fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><title>examgate</title>")},
		"assets/app-1.js":    {Data: script},
		"assets/app-1.js.br": {Data: brotliOf(t, script)},
		"assets/app-1.js.gz": {Data: gzipOf(t, script)},
	}
	e := newEnvWithCatalog(t, dbtest.OpenSQLite(t), catalogYAML, func(d *server.Deps) { d.App, d.Playground = app, true })
	get := func(path, accept string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		return rawDo(t, req)
	}
	for _, c := range []struct{ accept, want string }{
		{"gzip, deflate, br, zstd", "br"},
		{"gzip", "gzip"},
		{"br;q=0, gzip;q=0.5", "gzip"},
		{"identity", ""},
		{"", ""},
	} {
		resp, body := get("/assets/app-1.js", c.accept)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != c.want ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
			!strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") ||
			resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("Accept-Encoding %q: %d %v", c.accept, resp.StatusCode, resp.Header)
		}
		if got := decode(t, c.want, body); !bytes.Equal(got, script) {
			t.Errorf("Accept-Encoding %q: the decoded asset differs", c.accept)
		}
	}
	// An asset the build left uncompressed is served as it is.
	if resp, body := get("/index.html", "br"); resp.Header.Get("Content-Encoding") != "" || !bytes.Contains(body, []byte("<title>examgate")) {
		t.Errorf("index.html: %v %s", resp.Header, body)
	}

	// A big GraphQL answer (the schema) is compressed, a small one is not.
	post := func(query, accept string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", strings.NewReader(`{"query":`+quote(query)+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Encoding", accept)
		return rawDo(t, req)
	}
	for _, enc := range []string{"br", "gzip"} {
		resp, body := post("{ __schema { types { name fields { name } } } }", enc)
		plain := decode(t, resp.Header.Get("Content-Encoding"), body)
		if resp.Header.Get("Content-Encoding") != enc || !bytes.Contains(plain, []byte(`"name":"Booking"`)) || len(body) >= len(plain) {
			t.Errorf("%s: schema answer %v, %d bytes for %d", enc, resp.Header, len(body), len(plain))
		}
	}
	if resp, body := post("{ __typename }", "br"); resp.Header.Get("Content-Encoding") != "" || !bytes.HasPrefix(body, []byte(`{"data":{"__typename":"Query"}`)) {
		t.Errorf("small answer: %v %s", resp.Header, body)
	}
}

func rawDo(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func decode(t *testing.T, enc string, body []byte) []byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	switch enc {
	case "br":
		r = brotli.NewReader(r)
	case "gzip":
		g, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = g
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return out
}

func brotliOf(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := brotli.NewWriterLevel(&b, 11)
	_, _ = w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipOf(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
