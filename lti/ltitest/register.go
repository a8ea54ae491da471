package ltitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The platform side of LTI Dynamic Registration 1.0
// (https://www.imsglobal.org/spec/lti-dr/v1p0), written from the
// specification: the OpenID configuration with the LTI platform
// configuration (3.5.2), and the registration endpoint that checks the
// tool's client registration (3.6) and answers its client id and
// deployment (3.6.2).
const (
	OpenIDConfigPath = "/.well-known/openid-configuration"
	RegistrationPath = "/register"
)

// DynamicRegistration is one client registration the platform accepted.
type DynamicRegistration struct {
	ClientID, DeploymentID         string
	LoginURL, RedirectURI, JWKSURL string // the tool's, from the request
	Request                        map[string]any
}

// UseRegistration makes the platform launch the tool of reg from now on,
// as an admin enabling the registered tool does. Call it before serving
// the launches, like the other settings.
func (p *Platform) UseRegistration(reg DynamicRegistration) {
	p.ClientID, p.DeploymentID = reg.ClientID, reg.DeploymentID
	p.ToolLoginURL, p.ToolRedirectURI, p.ToolJWKSURL = reg.LoginURL, reg.RedirectURI, reg.JWKSURL
}

// RegistrationStartURL is where the platform sends the admin's browser
// when they paste toolURL: with openid_configuration and a fresh one-time
// registration_token added (3.3).
func (p *Platform) RegistrationStartURL(toolURL string) string {
	tok := randomID()
	p.mu.Lock()
	if p.regTokens == nil {
		p.regTokens = map[string]bool{}
	}
	p.regTokens[tok] = true
	p.mu.Unlock()
	sep := "?"
	if strings.Contains(toolURL, "?") {
		sep = "&"
	}
	return toolURL + sep + url.Values{"openid_configuration": {p.Issuer + OpenIDConfigPath}, "registration_token": {tok}}.Encode()
}

// DynamicRegistrations returns the registrations accepted so far.
func (p *Platform) DynamicRegistrations() []DynamicRegistration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.dynRegs)
}

func (p *Platform) serveOpenIDConfig(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + AuthPath,
		"token_endpoint":                        p.Issuer + TokenPath,
		"jwks_uri":                              p.Issuer + JWKSPath,
		"registration_endpoint":                 p.Issuer + RegistrationPath,
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", AGSScoreScope, agsLineItemScope},
		"response_types_supported":              []string{"id_token"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"iss", "sub", "name", "given_name", "family_name", "email"},
		"subject_types_supported":               []string{"public"},
		"https://purl.imsglobal.org/spec/lti-platform-configuration": map[string]any{
			"product_family_code": "examgate-ltitest",
			"version":             "1.0",
			"messages_supported":  []map[string]any{{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}},
		},
	})
}

// serveRegistration accepts a client registration made with a one-time
// registration token, when it is what DR 1.0 3.6.1 requires of an LTI
// tool, and answers the new client id and deployment.
func (p *Platform) serveRegistration(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	valid := p.regTokens[tok]
	delete(p.regTokens, tok)
	p.mu.Unlock()
	if !valid {
		regError(w, http.StatusUnauthorized, "invalid_token", "the registration token is unknown or used")
		return
	}
	var req map[string]any
	b, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := json.Unmarshal(b, &req); err != nil {
		regError(w, http.StatusBadRequest, "invalid_client_metadata", "not a JSON object")
		return
	}
	strs := func(k string) []string {
		var out []string
		list, _ := req[k].([]any)
		for _, v := range list {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	str := func(k string) string { s, _ := req[k].(string); return s }
	tool, _ := req["https://purl.imsglobal.org/spec/lti-tool-configuration"].(map[string]any)
	msgs, _ := tool["messages"].([]any)
	problem := ""
	switch {
	case str("application_type") != "web":
		problem = "application_type must be web"
	case !slices.Equal(strs("response_types"), []string{"id_token"}):
		problem = "response_types must be [id_token]"
	case !slices.Contains(strs("grant_types"), "implicit") || !slices.Contains(strs("grant_types"), "client_credentials"):
		problem = "grant_types must include implicit and client_credentials"
	case str("initiate_login_uri") == "" || len(strs("redirect_uris")) == 0 || str("jwks_uri") == "":
		problem = "initiate_login_uri, redirect_uris and jwks_uri are required"
	case str("token_endpoint_auth_method") != "private_key_jwt":
		problem = "token_endpoint_auth_method must be private_key_jwt"
	case tool == nil || tool["domain"] == nil || tool["target_link_uri"] == nil || len(msgs) == 0:
		problem = "the LTI tool configuration needs domain, target_link_uri and messages"
	}
	if problem != "" {
		regError(w, http.StatusBadRequest, "invalid_client_metadata", problem)
		return
	}
	p.mu.Lock()
	n := len(p.dynRegs) + 1
	reg := DynamicRegistration{ClientID: "dr-client-" + strconv.Itoa(n), DeploymentID: "dr-deployment-" + strconv.Itoa(n), Request: req,
		LoginURL: str("initiate_login_uri"), RedirectURI: strs("redirect_uris")[0], JWKSURL: str("jwks_uri")}
	p.dynRegs = append(p.dynRegs, reg)
	p.mu.Unlock()
	answer := map[string]any{}
	for k, v := range req {
		answer[k] = v
	}
	answer["client_id"] = reg.ClientID
	cfg := map[string]any{}
	for k, v := range tool {
		cfg[k] = v
	}
	cfg["deployment_id"] = reg.DeploymentID
	answer["https://purl.imsglobal.org/spec/lti-tool-configuration"] = cfg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(answer)
}

func regError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
