package ltitest_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/lti/ltitest"
	"github.com/golang-jwt/jwt/v5"
)

const agsClient = "tool-client"

var agsNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// agsTool is a tool's key pair published on a JWKS listener.
type agsTool struct {
	key *rsa.PrivateKey
	kid string
	url string
}

func agsNewTool(t *testing.T) *agsTool {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tool := &agsTool{key: key, kid: "kid-1"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "alg": "RS256", "use": "sig", "kid": tool.kid,
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	}))
	t.Cleanup(srv.Close)
	tool.url = srv.URL
	return tool
}

// agsAssertion signs claims valid for svc, changed by mut.
func (tool *agsTool) agsAssertion(t *testing.T, svc *ltitest.AGSService, jti string, mut func(jwt.MapClaims, map[string]any)) string {
	t.Helper()
	claims := jwt.MapClaims{
		"iss": agsClient, "sub": agsClient, "aud": svc.TokenURL(), "jti": jti,
		"iat": agsNow.Unix(), "exp": agsNow.Add(5 * time.Minute).Unix(),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = tool.kid
	if mut != nil {
		mut(claims, tok.Header)
	}
	s, err := tok.SignedString(tool.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func agsPost(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func agsForm(assertion string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
		"scope":                 {ltitest.AGSScoreScope},
	}
}

func TestAGSServiceRefusesBadAssertions(t *testing.T) {
	tool := agsNewTool(t)
	svc := ltitest.NewAGSService(agsClient, tool.url)
	svc.Now = func() time.Time { return agsNow }
	t.Cleanup(svc.Start().Close)

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	assert := func(mut func(jwt.MapClaims, map[string]any)) string {
		n++
		return tool.agsAssertion(t, svc, fmt.Sprint("jti-", n), mut)
	}
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"wrong aud", agsForm(assert(func(c jwt.MapClaims, _ map[string]any) { c["aud"] = "https://elsewhere.example.com/token" })), 401, "invalid_client"},
		{"wrong iss", agsForm(assert(func(c jwt.MapClaims, _ map[string]any) { c["iss"] = "someone" })), 401, "invalid_client"},
		{"sub not the client", agsForm(assert(func(c jwt.MapClaims, _ map[string]any) { c["sub"] = "someone" })), 401, "invalid_client"},
		{"expired", agsForm(assert(func(c jwt.MapClaims, _ map[string]any) { c["exp"] = agsNow.Add(-time.Minute).Unix() })), 401, "invalid_client"},
		{"no exp", agsForm(assert(func(c jwt.MapClaims, _ map[string]any) { delete(c, "exp") })), 401, "invalid_client"},
		{"iat in the future", agsForm(assert(func(c jwt.MapClaims, _ map[string]any) { c["iat"] = agsNow.Add(time.Minute).Unix() })), 401, "invalid_client"},
		{"lives a day", agsForm(assert(func(c jwt.MapClaims, _ map[string]any) { c["exp"] = agsNow.Add(24 * time.Hour).Unix() })), 401, "invalid_client"},
		{"no jti", agsForm(assert(func(c jwt.MapClaims, _ map[string]any) { delete(c, "jti") })), 401, "invalid_client"},
		{"no kid", agsForm(assert(func(_ jwt.MapClaims, h map[string]any) { delete(h, "kid") })), 401, "invalid_client"},
		{"unknown kid", agsForm(assert(func(_ jwt.MapClaims, h map[string]any) { h["kid"] = "kid-9" })), 401, "invalid_client"},
		{"not a JWT", agsForm("not.a.jwt"), 401, "invalid_client"},
		{"wrong grant", func() url.Values {
			f := agsForm(assert(nil))
			f.Set("grant_type", "password")
			return f
		}(), 400, "unsupported_grant_type"},
		{"wrong assertion type", func() url.Values {
			f := agsForm(assert(nil))
			f.Set("client_assertion_type", "urn:other")
			return f
		}(), 400, "invalid_request"},
		{"unknown scope", func() url.Values {
			f := agsForm(assert(nil))
			f.Set("scope", "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly")
			return f
		}(), 400, "invalid_scope"},
	}
	// Signed by another key under the tool's kid.
	forged := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": agsClient, "sub": agsClient, "aud": svc.TokenURL(), "jti": "forged",
		"iat": agsNow.Unix(), "exp": agsNow.Add(5 * time.Minute).Unix(),
	})
	forged.Header["kid"] = tool.kid
	fs, _ := forged.SignedString(other)
	cases = append(cases, struct {
		name   string
		form   url.Values
		status int
		code   string
	}{"wrong signature", agsForm(fs), 401, "invalid_client"})
	// HS256 with the public modulus as the secret: the classic confusion.
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": agsClient, "sub": agsClient, "aud": svc.TokenURL(), "jti": "hs",
		"iat": agsNow.Unix(), "exp": agsNow.Add(5 * time.Minute).Unix(),
	})
	hs.Header["kid"] = tool.kid
	hss, _ := hs.SignedString(tool.key.N.Bytes())
	cases = append(cases, struct {
		name   string
		form   url.Values
		status int
		code   string
	}{"HS256", agsForm(hss), 401, "invalid_client"})

	for _, c := range cases {
		status, body := agsPost(t, svc.TokenURL(), c.form)
		if status != c.status || body["error"] != c.code {
			t.Errorf("%s: HTTP %d %v, want %d %s", c.name, status, body, c.status, c.code)
		}
	}

	// A good assertion works once; its jti cannot be used again.
	good := agsForm(tool.agsAssertion(t, svc, "jti-good", nil))
	if status, body := agsPost(t, svc.TokenURL(), good); status != 200 || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 || body["access_token"] == "" {
		t.Fatalf("good assertion: HTTP %d %v", status, body)
	}
	if status, body := agsPost(t, svc.TokenURL(), good); status != 401 || !strings.Contains(fmt.Sprint(body["error_description"]), "jti") {
		t.Fatalf("replayed jti: HTTP %d %v", status, body)
	}
	if len(svc.Assertions()) != 1 {
		t.Fatalf("%d assertions accepted, want 1", len(svc.Assertions()))
	}
}

func TestAGSServiceRefusesBadScores(t *testing.T) {
	tool := agsNewTool(t)
	svc := ltitest.NewAGSService(agsClient, tool.url)
	svc.Now = func() time.Time { return agsNow }
	t.Cleanup(svc.Start().Close)
	_, body := agsPost(t, svc.TokenURL(), agsForm(tool.agsAssertion(t, svc, "j1", nil)))
	tok, _ := body["access_token"].(string)

	post := func(token, contentType, score string) int {
		req, _ := http.NewRequest(http.MethodPost, svc.LineItemURL("li")+"/scores", bytes.NewBufferString(score))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const good = `{"userId":"u1","activityProgress":"Completed","gradingProgress":"FullyGraded","scoreGiven":1,"scoreMaximum":1,"timestamp":"2026-12-01T10:00:00.123+00:00"}`
	for _, c := range []struct {
		name, token, ct, body string
		want                  int
	}{
		{"unknown token", "nope", ltitest.AGSScoreMediaType, good, 401},
		{"plain JSON", tok, "application/json", good, 415},
		{"no user", tok, ltitest.AGSScoreMediaType, strings.Replace(good, `"userId":"u1",`, "", 1), 400},
		{"timestamp without fraction", tok, ltitest.AGSScoreMediaType, strings.Replace(good, "00.123", "00", 1), 400},
		{"score without maximum", tok, ltitest.AGSScoreMediaType, strings.Replace(good, `,"scoreMaximum":1`, "", 1), 400},
		{"bad progress", tok, ltitest.AGSScoreMediaType, strings.Replace(good, "Completed", "Done", 1), 400},
		{"good", tok, ltitest.AGSScoreMediaType, good, 204},
	} {
		if got := post(c.token, c.ct, c.body); got != c.want {
			t.Errorf("%s: HTTP %d, want %d", c.name, got, c.want)
		}
	}
	svc.ExpireTokens()
	if got := post(tok, ltitest.AGSScoreMediaType, good); got != 401 {
		t.Errorf("expired token: HTTP %d", got)
	}
	if n := len(svc.Scores()); n != 1 {
		t.Fatalf("%d scores recorded, want 1", n)
	}
}

// A platform with ServeAGS is one platform: its registration's token URL
// and its line items are served where it is mounted, next to its JWKS.
func TestPlatformServesAGS(t *testing.T) {
	tool := agsNewTool(t)
	p := ltitest.New("", agsClient, "dep-1")
	p.Now = func() time.Time { return agsNow }
	mux := http.NewServeMux()
	mux.Handle("/sim/", http.StripPrefix("/sim", p)) // as the demo mounts it
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.Issuer = srv.URL + "/sim"
	if status, _ := agsPost(t, p.Registration().TokenURL, agsForm("x")); status != http.StatusNotFound {
		t.Fatalf("token URL before ServeAGS: HTTP %d, want 404", status)
	}

	svc := p.ServeAGS(tool.url)
	reg := p.Registration()
	if svc.TokenURL() != reg.TokenURL {
		t.Fatalf("score service token URL %s, registration's %s", svc.TokenURL(), reg.TokenURL)
	}
	status, body := agsPost(t, reg.TokenURL, agsForm(tool.agsAssertion(t, svc, "j1", nil)))
	tok, _ := body["access_token"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("token: HTTP %d %v", status, body)
	}
	score := `{"userId":"u1","activityProgress":"Completed","gradingProgress":"FullyGraded","scoreGiven":2,"scoreMaximum":2,"timestamp":"2026-12-01T10:00:00.5Z"}`
	req, _ := http.NewRequest(http.MethodPost, p.Issuer+ltitest.LineItemsPath+"EX-1/scores", strings.NewReader(score))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", ltitest.AGSScoreMediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("score: HTTP %d", resp.StatusCode)
	}
	got := svc.Scores()
	if len(got) != 1 || got[0].LineItem != "EX-1" || got[0].UserID != "u1" || *got[0].ScoreGiven != 2 || !got[0].Received.Equal(agsNow) {
		t.Fatalf("scores: %+v", got)
	}
	// The platform's own routes are still its own.
	resp, err = http.Get(reg.JWKSURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS: HTTP %d", resp.StatusCode)
	}
}
