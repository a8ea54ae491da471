package lti

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/examgate/examgate"
)

// LTI Dynamic Registration 1.0 (https://www.imsglobal.org/spec/lti-dr/v1p0):
// the platform opens the tool's registration URL with openid_configuration
// and registration_token; the tool reads the platform's configuration,
// posts its client registration to the platform's registration_endpoint
// with the token, and stores the platform with the client id and
// deployment id it answers.
const (
	RegisterPath               = "/lti/register"
	ClaimPlatformConfiguration = "https://purl.imsglobal.org/spec/lti-platform-configuration"
	ClaimToolConfiguration     = "https://purl.imsglobal.org/spec/lti-tool-configuration"
	maxConfigBytes             = 256 << 10
)

// PlatformConfiguration is what examgate reads of a platform's OpenID
// configuration (DR 1.0, 3.5.2).
type PlatformConfiguration struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	RegistrationEndpoint  string   `json:"registration_endpoint"`
	ScopesSupported       []string `json:"scopes_supported"`
	LTI                   struct {
		ProductFamilyCode string `json:"product_family_code"`
		Version           string `json:"version"`
	} `json:"https://purl.imsglobal.org/spec/lti-platform-configuration"`
}

const msgRegistration = "The platform's registration could not be completed. "

// registrationClient follows no redirects: every URL must be the one the
// platform named.
func registrationClient(hc *http.Client) *http.Client {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// FetchPlatformConfiguration reads the configuration at configURL and
// checks it: https URLs (or loopback), an issuer on the configuration URL's
// host (DR 1.0, 3.5.1), and every endpoint examgate needs.
func FetchPlatformConfiguration(ctx context.Context, hc *http.Client, configURL string) (*PlatformConfiguration, error) {
	bad := func(format string, args ...any) error {
		return refuse(examgate.EINVALID, msgRegistration+fmt.Sprintf(format, args...), "dynamic registration: "+format, args...)
	}
	if err := checkPlatformURL(configURL); err != nil {
		return nil, bad("Its openid_configuration URL %q is not usable: %v.", truncate(configURL, 200), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, configURL, nil)
	if err != nil {
		return nil, bad("Its openid_configuration URL is not usable: %v.", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := registrationClient(hc).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, refuse(examgate.EUNAVAILABLE, msgRegistration+"Its configuration could not be read; try again in a minute.", "dynamic registration: GET %s: %v", truncate(configURL, 200), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxConfigBytes))
	if resp.StatusCode != http.StatusOK {
		return nil, bad("Its configuration answered HTTP %d.", resp.StatusCode)
	}
	var pc PlatformConfiguration
	if err := json.Unmarshal(body, &pc); err != nil {
		return nil, bad("Its configuration is not JSON: %v.", err)
	}
	cu, _ := url.Parse(configURL)
	iu, err := url.Parse(pc.Issuer)
	switch {
	case pc.Issuer == "" || err != nil || !strings.EqualFold(iu.Host, cu.Host) || checkPlatformURL(pc.Issuer) != nil:
		return nil, bad("Its issuer %q is not on the host of its configuration URL (%s).", truncate(pc.Issuer, 200), cu.Host)
	case checkPlatformURL(pc.AuthorizationEndpoint) != nil:
		return nil, bad("Its authorization_endpoint %q is not an https URL.", truncate(pc.AuthorizationEndpoint, 200))
	case checkPlatformURL(pc.TokenEndpoint) != nil:
		return nil, bad("Its token_endpoint %q is not an https URL.", truncate(pc.TokenEndpoint, 200))
	case checkPlatformURL(pc.JWKSURI) != nil:
		return nil, bad("Its jwks_uri %q is not an https URL.", truncate(pc.JWKSURI, 200))
	case checkPlatformURL(pc.RegistrationEndpoint) != nil:
		return nil, bad("Its registration_endpoint %q is not an https URL.", truncate(pc.RegistrationEndpoint, 200))
	}
	pc.LTI.ProductFamilyCode, pc.LTI.Version = Printable(pc.LTI.ProductFamilyCode, 64), Printable(pc.LTI.Version, 64)
	return &pc, nil
}

// ClientRegistration is the registration examgate posts (DR 1.0, 3.6.1):
// an OpenID Connect client that launches by id_token, gets tokens with a
// JWT client assertion from its JWKS, and takes resource link and deep
// linking launches with the claims and AGS scopes it uses.
func (t *Tool) ClientRegistration() map[string]any {
	return map[string]any{
		"application_type":           "web",
		"response_types":             []string{"id_token"},
		"grant_types":                []string{"implicit", "client_credentials"},
		"initiate_login_uri":         t.LoginURL(),
		"redirect_uris":              []string{t.RedirectURI()},
		"client_name":                "examgate",
		"jwks_uri":                   t.JWKSURL(),
		"token_endpoint_auth_method": "private_key_jwt",
		"scope":                      strings.Join([]string{ScopeScore, ScopeLineItem}, " "),
		ClaimToolConfiguration: map[string]any{
			"domain":          t.BaseURL.Host,
			"target_link_uri": t.RedirectURI(),
			"claims":          []string{"iss", "sub", "name", "given_name", "family_name", "email"},
			"messages": []map[string]any{
				{"type": MessageTypeResourceLink},
				{"type": MessageTypeDeepLinking, "target_link_uri": t.RedirectURI(), "label": "examgate exam"},
			},
		},
	}
}

// RegisterWith posts the tool's client registration to the platform with
// the registration token and returns the platform as examgate stores it.
func (t *Tool) RegisterWith(ctx context.Context, hc *http.Client, pc *PlatformConfiguration, token string) (*Registration, error) {
	body, _ := json.Marshal(t.ClientRegistration())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pc.RegistrationEndpoint, bytes.NewReader(body))
	if err != nil {
		return nil, refuse(examgate.EINVALID, msgRegistration+"Its registration endpoint is not usable.", "dynamic registration: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := registrationClient(hc).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, refuse(examgate.EUNAVAILABLE, msgRegistration+"The platform did not answer; try again in a minute.", "dynamic registration: POST %s: %v", truncate(pc.RegistrationEndpoint, 200), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxConfigBytes))
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return nil, refuse(examgate.EINVALID, msgRegistration+fmt.Sprintf("The platform refused it (HTTP %d): %s", resp.StatusCode, Printable(string(b), 300)),
			"dynamic registration: %s answered HTTP %d", truncate(pc.RegistrationEndpoint, 200), resp.StatusCode)
	}
	var out struct {
		ClientID string `json:"client_id"`
		Tool     struct {
			DeploymentID string `json:"deployment_id"`
		} `json:"https://purl.imsglobal.org/spec/lti-tool-configuration"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.ClientID == "" {
		return nil, refuse(examgate.EINVALID, msgRegistration+"The platform's answer has no client_id.", "dynamic registration: answer without client_id: %v", err)
	}
	if out.Tool.DeploymentID == "" {
		// Brightspace, for one, makes deployments separately.
		return nil, refuse(examgate.EINVALID, fmt.Sprintf("The platform registered examgate as client %s but named no deployment. Create the deployment on the platform, then add it with: examgate lti add-platform --issuer %s --client-id %s --deployment <deployment id> --auth-url %s --token-url %s --jwks-url %s",
			Printable(out.ClientID, 255), pc.Issuer, Printable(out.ClientID, 255), pc.AuthorizationEndpoint, pc.TokenEndpoint, pc.JWKSURI),
			"dynamic registration: answer without deployment_id")
	}
	reg := &Registration{
		Name: pc.LTI.ProductFamilyCode, Issuer: pc.Issuer, ClientID: out.ClientID, DeploymentIDs: []string{out.Tool.DeploymentID},
		AuthURL: pc.AuthorizationEndpoint, TokenURL: pc.TokenEndpoint, JWKSURL: pc.JWKSURI,
	}
	if err := reg.Validate(); err != nil {
		return nil, err
	}
	return reg, nil
}
