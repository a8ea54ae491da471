package lti

import (
	"crypto/rsa"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/examgate/examgate"
)

// LTI Deep Linking 2.0 (https://www.imsglobal.org/spec/lti-dl/v2p0): the
// platform launches the tool with an LtiDeepLinkingRequest from its activity
// picker; the tool answers by posting an LtiDeepLinkingResponse JWT, signed
// with its own key, to the deep_link_return_url.
const (
	ClaimDeepLinkingSettings = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
	ClaimContentItems        = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
	ClaimDeepLinkingData     = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
	ClaimDeepLinkingMsg      = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
	ClaimDeepLinkingErrorMsg = "https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"

	MessageTypeDeepLinkingResponse = "LtiDeepLinkingResponse"
	// ContentTypeResourceLink is the content item examgate offers.
	ContentTypeResourceLink = "ltiResourceLink"
	// DeepLinkingResponseLifetime is the exp of a response: the instructor
	// picks an exam within this time of opening the picker.
	DeepLinkingResponseLifetime = 30 * time.Minute
)

// DeepLinkingSettings is the deep_linking_settings claim (DL 2.0, 4.4.1).
type DeepLinkingSettings struct {
	ReturnURL      string
	AcceptTypes    []string
	AcceptMultiple bool
	Data           string // echoed back untouched
	Title, Text    string // the platform's suggestions, if any
}

// AcceptsResourceLinks reports whether the platform takes ltiResourceLink
// items.
func (d *DeepLinkingSettings) AcceptsResourceLinks() bool {
	return slices.Contains(d.AcceptTypes, ContentTypeResourceLink)
}

const msgNoReturnURL = "The learning platform's activity picker did not say where to send the chosen exam. " + msgAskAdmin

func deepLinkingSettings(v any) (*DeepLinkingSettings, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, refuse(examgate.EINVALID, msgNoReturnURL, "deep linking request without deep_linking_settings")
	}
	d := &DeepLinkingSettings{}
	d.ReturnURL, _ = m["deep_link_return_url"].(string)
	if d.ReturnURL == "" || checkPlatformURL(d.ReturnURL) != nil {
		return nil, refuse(examgate.EINVALID, msgNoReturnURL, "deep_link_return_url %q is not an https URL", truncate(d.ReturnURL, 200))
	}
	if types, ok := m["accept_types"].([]any); ok {
		for _, t := range types {
			if s, ok := t.(string); ok && len(d.AcceptTypes) < 20 {
				d.AcceptTypes = append(d.AcceptTypes, truncate(s, 64))
			}
		}
	}
	d.AcceptMultiple, _ = m["accept_multiple"].(bool)
	data, _ := m["data"].(string)
	if len(data) > 4096 {
		return nil, refuse(examgate.EINVALID, msgNoReturnURL, "deep linking data longer than 4096 bytes")
	}
	d.Data = data
	d.Title, _ = m["title"].(string)
	d.Text, _ = m["text"].(string)
	d.Title, d.Text = Printable(d.Title, 200), Printable(d.Text, 500)
	return d, nil
}

// ResourceLinkItem is one ltiResourceLink content item (DL 2.0, 3.2).
type ResourceLinkItem struct {
	Title    string
	Text     string
	URL      string            // the target link
	Custom   map[string]string // custom parameters the platform sends back at launch
	LineItem *ItemLineItem     // a gradebook column for the link's scores
}

// ItemLineItem is the lineItem of a content item (DL 2.0, 3.2.4.1).
type ItemLineItem struct {
	ScoreMaximum float64
	Label        string
	ResourceID   string
	Tag          string
}

// DeepLinkingResponse is the JWT the tool posts back (DL 2.0, 4.2): from
// the tool's client id to the platform, for the request's deployment, with
// its data echoed. No items and an empty errorMsg is a cancel; errorMsg
// says why nothing was chosen.
func DeepLinkingResponse(key *rsa.PrivateKey, kid string, l *Launch, items []ResourceLinkItem, errorMsg string, now time.Time) (string, error) {
	if l.DeepLinking == nil {
		return "", fmt.Errorf("not a deep linking request")
	}
	content := make([]map[string]any, 0, len(items))
	for _, it := range items {
		ci := map[string]any{"type": ContentTypeResourceLink, "title": it.Title, "url": it.URL}
		if it.Text != "" {
			ci["text"] = it.Text
		}
		if len(it.Custom) > 0 {
			ci["custom"] = it.Custom
		}
		if li := it.LineItem; li != nil {
			ci["lineItem"] = map[string]any{"scoreMaximum": li.ScoreMaximum, "label": li.Label, "resourceId": li.ResourceID, "tag": li.Tag}
		}
		content = append(content, ci)
	}
	claims := jwt.MapClaims{
		"iss":             l.ClientID,
		"aud":             l.Issuer,
		"azp":             l.ClientID,
		"iat":             now.Unix(),
		"exp":             now.Add(DeepLinkingResponseLifetime).Unix(),
		"nonce":           randomToken(),
		ClaimMessageType:  MessageTypeDeepLinkingResponse,
		ClaimVersion:      Version,
		ClaimDeploymentID: l.DeploymentID,
		ClaimContentItems: content,
	}
	if l.DeepLinking.Data != "" {
		claims[ClaimDeepLinkingData] = l.DeepLinking.Data
	}
	if errorMsg != "" {
		claims[ClaimDeepLinkingErrorMsg] = errorMsg
	} else if len(items) > 0 {
		claims[ClaimDeepLinkingMsg] = fmt.Sprintf("%s added", items[0].Title)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	return tok.SignedString(key)
}
