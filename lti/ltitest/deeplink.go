package ltitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/examgate/examgate/lti"
)

// The platform side of LTI Deep Linking 2.0
// (https://www.imsglobal.org/spec/lti-dl/v2p0), written from the
// specification: the request's deep_linking_settings (4.4.1) and the checks
// a platform makes of the tool's LtiDeepLinkingResponse (4.2).
const (
	// DeepLinkReturnPath receives the tool's response.
	DeepLinkReturnPath = "/deeplink/return"
	dlSettingsClaim    = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
	dlContentItems     = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
	dlData             = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
	dlMsg              = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
	dlErrorMsg         = "https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"
)

// DeepLinkResponse is one response the tool posted back, as checked.
type DeepLinkResponse struct {
	Valid        bool
	Error        string // why it was refused
	Data         string
	Msg          string
	ErrorMsg     string
	ContentItems []map[string]any
}

// DeepLinkResponses returns what the tool posted to the return URL.
func (p *Platform) DeepLinkResponses() []DeepLinkResponse {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.dlResponses)
}

// deepLinkingSettings is the claim of a Deep Linking request; its data
// names the launch, so that the response can be matched to it.
func (p *Platform) deepLinkingSettings(l *Launch) map[string]any {
	types := l.Link.AcceptTypes
	if types == nil {
		types = []string{"ltiResourceLink"}
	}
	return map[string]any{
		"deep_link_return_url":                 p.Issuer + DeepLinkReturnPath,
		"accept_types":                         types,
		"accept_presentation_document_targets": []string{"iframe", "window"},
		"accept_multiple":                      false,
		"auto_create":                          true,
		"data":                                 "dl-" + l.Hint,
	}
}

// serveDeepLinkReturn checks the tool's response as DL 2.0 4.2 asks: an
// RS256 JWT signed with a key of the tool's JWKS, from the tool's client
// id (iss) to this platform (aud), fresh, of message type
// LtiDeepLinkingResponse and version 1.3.0, for the request's deployment,
// with the request's data echoed.
func (p *Platform) serveDeepLinkReturn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	_ = r.ParseForm()
	resp, err := p.checkDeepLinkResponse(r.PostForm.Get("JWT"))
	if err != nil {
		resp.Error = err.Error()
	} else {
		resp.Valid = true
	}
	p.mu.Lock()
	p.dlResponses = append(p.dlResponses, resp)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch {
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<!doctype html><title>Refused</title><p>The tool's answer was refused: %s</p>", html.EscapeString(err.Error()))
	case len(resp.ContentItems) > 0:
		title, _ := resp.ContentItems[0]["title"].(string)
		fmt.Fprintf(w, "<!doctype html><title>Activity added</title><p>Activity added to the course: %s</p>", html.EscapeString(title))
	default:
		fmt.Fprintf(w, "<!doctype html><title>Nothing added</title><p>Nothing was added.%s</p>", html.EscapeString(" "+resp.ErrorMsg))
	}
}

func (p *Platform) checkDeepLinkResponse(raw string) (DeepLinkResponse, error) {
	var out DeepLinkResponse
	if raw == "" {
		return out, errors.New("no JWT posted")
	}
	if p.ToolJWKSURL == "" {
		return out, errors.New("the platform does not know the tool's JWKS URL")
	}
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation()).
		ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			resp, err := http.Get(p.ToolJWKSURL)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			keys, err := lti.ParseJWKS(body)
			if err != nil {
				return nil, err
			}
			if k, ok := keys[kid]; ok {
				return k, nil
			}
			return nil, fmt.Errorf("no tool key with kid %q", kid)
		})
	if err != nil {
		return out, fmt.Errorf("signature: %w", err)
	}
	now := p.now()
	num := func(name string) time.Time {
		n, _ := claims[name].(json.Number)
		v, _ := n.Int64()
		return time.Unix(v, 0)
	}
	aud, _ := claims["aud"].(string)
	if list, ok := claims["aud"].([]any); ok && len(list) > 0 {
		aud, _ = list[0].(string)
	}
	out.Data, _ = claims[dlData].(string)
	out.Msg, _ = claims[dlMsg].(string)
	out.ErrorMsg, _ = claims[dlErrorMsg].(string)
	p.mu.Lock()
	l := p.launches[strings.TrimPrefix(out.Data, "dl-")]
	p.mu.Unlock()
	switch {
	case claims["iss"] != p.ClientID:
		return out, fmt.Errorf("iss %v is not the tool's client id", claims["iss"])
	case aud != p.Issuer:
		return out, fmt.Errorf("aud %q is not the platform", aud)
	case !now.Before(num("exp")) || num("iat").After(now.Add(time.Minute)):
		return out, errors.New("expired or issued in the future")
	case claims["nonce"] == nil || claims["nonce"] == "":
		return out, errors.New("no nonce")
	case claims[lti.ClaimMessageType] != "LtiDeepLinkingResponse" || claims[lti.ClaimVersion] != "1.3.0":
		return out, errors.New("not an LtiDeepLinkingResponse of LTI 1.3.0")
	case l == nil || !strings.HasPrefix(out.Data, "dl-"):
		return out, errors.New("data does not echo a deep linking request")
	case claims[lti.ClaimDeploymentID] != l.Link.DeploymentID:
		return out, fmt.Errorf("deployment_id %v is not the request's", claims[lti.ClaimDeploymentID])
	}
	items, ok := claims[dlContentItems].([]any)
	if !ok {
		return out, errors.New("no content_items claim (an empty list cancels)")
	}
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok || m["type"] != "ltiResourceLink" {
			return out, errors.New("a content item is not an ltiResourceLink")
		}
		if u, _ := m["url"].(string); u == "" {
			return out, errors.New("an ltiResourceLink without url")
		}
		out.ContentItems = append(out.ContentItems, m)
	}
	if len(items) > 1 {
		return out, errors.New("several items, though accept_multiple is false")
	}
	return out, nil
}
