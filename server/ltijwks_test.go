package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

func TestLTIJWKS(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		get := func() (string, []map[string]any) {
			resp, err := http.Get(e.url + "/lti/jwks")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
				resp.Header.Get("Cache-Control") != "public, max-age=300" {
				t.Fatalf("GET /lti/jwks: HTTP %d %v %s", resp.StatusCode, resp.Header, body)
			}
			if strings.Contains(string(body), `"d"`) {
				t.Fatalf("JWKS has a private member: %s", body)
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(body, &set); err != nil {
				t.Fatal(err)
			}
			return string(body), set.Keys
		}
		first, keys := get()
		if len(keys) != 1 || keys[0]["kty"] != "RSA" || keys[0]["alg"] != "RS256" || keys[0]["use"] != "sig" || keys[0]["kid"] == "" {
			t.Fatalf("JWKS %s", first)
		}
		// The key made on first use is kept, not made again.
		if again, _ := get(); again != first {
			t.Fatalf("second JWKS differs:\n%s\n%s", first, again)
		}
		resp, err := http.Post(e.url+"/lti/jwks", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("POST /lti/jwks: HTTP %d", resp.StatusCode)
		}
	})
}
