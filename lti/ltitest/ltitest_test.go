package ltitest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ltitest"
)

// The fake platform checks the authorization request as a platform does.
func TestAuthorizationRequestChecks(t *testing.T) {
	p := ltitest.New("https://platform.example.com", "client-1", "dep-1")
	p.ToolRedirectURI = "https://exams.example.com/lti/launch"
	hint := p.AddLaunch(ltitest.User{Sub: "u1"}, ltitest.Link{TargetLinkURI: "https://exams.example.com/lti/exams/X"})
	good := url.Values{
		"response_type": {"id_token"}, "response_mode": {"form_post"}, "scope": {"openid profile email"},
		"prompt": {"none"}, "client_id": {"client-1"}, "redirect_uri": {p.ToolRedirectURI},
		"state": {"s"}, "nonce": {"n"}, "login_hint": {"u1"}, "lti_message_hint": {hint},
	}
	get := func(v url.Values) (int, string) {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ltitest.AuthPath+"?"+v.Encode(), nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	code, body := get(good)
	action, form, err := ltitest.ParseForm(body)
	if code != 200 || err != nil || action != p.ToolRedirectURI || form.Get("state") != "s" || form.Get("id_token") == "" {
		t.Fatalf("good request: %d %v %s", code, err, body)
	}
	for name, edit := range map[string]func(url.Values){
		"response_type code":   func(v url.Values) { v.Set("response_type", "code") },
		"no form_post":         func(v url.Values) { v.Del("response_mode") },
		"prompt login":         func(v url.Values) { v.Set("prompt", "login") },
		"other client":         func(v url.Values) { v.Set("client_id", "client-2") },
		"other redirect":       func(v url.Values) { v.Set("redirect_uri", "https://evil.example.com/") },
		"no nonce":             func(v url.Values) { v.Del("nonce") },
		"hint of another user": func(v url.Values) { v.Set("login_hint", "u2") },
	} {
		v := url.Values{}
		for k, vs := range good {
			v[k] = append([]string(nil), vs...)
		}
		edit(v)
		if code, body := get(v); code != 400 || !strings.Contains(body, "invalid_request") {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
}

// The JWKS lists the previous key during a rotation and drops it after.
func TestJWKSRotation(t *testing.T) {
	p := ltitest.New("https://platform.example.com", "client-1", "dep-1")
	keys := func() map[string]bool {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ltitest.JWKSPath, nil))
		set, err := lti.ParseJWKS(rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for kid := range set {
			out[kid] = true
		}
		return out
	}
	first := p.CurrentKID()
	p.Rotate()
	if k := keys(); len(k) != 2 || !k[first] || !k[p.CurrentKID()] {
		t.Errorf("during rotation: %v", k)
	}
	p.RetireOldKeys()
	if k := keys(); len(k) != 1 || k[first] {
		t.Errorf("after rotation: %v", k)
	}
}
