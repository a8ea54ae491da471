package ags

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/examgate/examgate"
)

// AGS 2.0 line item service (https://www.imsglobal.org/spec/lti-ags/v2p0,
// section 3.2): the container answers GET with the line items it holds,
// filtered by resource_link_id, resource_id or tag, and creates one on
// POST.
const (
	LineItemScope              = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
	LineItemMediaType          = "application/vnd.ims.lis.v2.lineitem+json"
	LineItemContainerMediaType = "application/vnd.ims.lis.v2.lineitemcontainer+json"
	// LineItemTag marks the line items examgate creates.
	LineItemTag = "examgate"
)

// lineItem is the part of an AGS line item examgate reads and writes.
type lineItem struct {
	ID             string  `json:"id,omitempty"`
	ScoreMaximum   float64 `json:"scoreMaximum"`
	Label          string  `json:"label"`
	ResourceID     string  `json:"resourceId,omitempty"`
	ResourceLinkID string  `json:"resourceLinkId,omitempty"`
	Tag            string  `json:"tag,omitempty"`
}

// LineItem finds the line item of s's resource link in the container
// s.LineItemsURL, by resource_link_id and then by resource_id (the exam
// code), and creates it when there is none, with the line item scope.
func (c *Client) LineItem(ctx context.Context, tokenURL string, s examgate.LTIScoreJob) (string, error) {
	container, err := endpoint(s.LineItemsURL, "line items URL")
	if err != nil {
		return "", examgate.Permanent(fmt.Errorf("%w; the platform sent it in the launch, so fix it at the platform and launch again", err))
	}
	key := tokenKey{tokenURL, s.ClientID, LineItemScope}
	for _, filter := range []url.Values{{"resource_link_id": {s.ResourceLinkID}}, {"resource_id": {s.ResourceID}}} {
		if filter.Get("resource_id") == "" && filter.Get("resource_link_id") == "" {
			continue
		}
		u := *container
		q := u.Query() // the container URL may carry a query of its own
		for k, v := range filter {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		var items []lineItem
		if err := c.lineItemCall(ctx, key, http.MethodGet, u.String(), nil, &items); err != nil {
			return "", err
		}
		for _, it := range items {
			// resource_id finds line items of other links too: only one
			// no link owns, or this link's, will do.
			if it.ID != "" && (filter.Has("resource_link_id") || it.ResourceLinkID == "" || it.ResourceLinkID == s.ResourceLinkID) {
				if _, err := endpoint(it.ID, "line item id"); err != nil {
					return "", examgate.Permanent(fmt.Errorf("the platform's line item: %w", err))
				}
				return it.ID, nil
			}
		}
	}
	maximum := s.LineItemMaximum
	if maximum <= 0 {
		maximum = 100
	}
	body, _ := json.Marshal(lineItem{ScoreMaximum: maximum, Label: s.Label, ResourceID: s.ResourceID, ResourceLinkID: s.ResourceLinkID, Tag: LineItemTag})
	var created lineItem
	if err := c.lineItemCall(ctx, key, http.MethodPost, container.String(), body, &created); err != nil {
		return "", err
	}
	if _, err := endpoint(created.ID, "line item id"); err != nil {
		return "", fmt.Errorf("the platform created a line item without a usable id: %w", err)
	}
	return created.ID, nil
}

// lineItemCall sends one line item request with a token for key, once more
// with a new token after a 401, and decodes a 2xx JSON answer into out.
func (c *Client) lineItemCall(ctx context.Context, key tokenKey, method, target string, body []byte, out any) error {
	where := hostOf(target)
	for try := 0; ; try++ {
		tok, err := c.token(ctx, key)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
		if err != nil {
			return examgate.Permanent(fmt.Errorf("building the line item request: %w", err))
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != nil {
			req.Header.Set("Content-Type", LineItemMediaType)
			req.Header.Set("Accept", LineItemMediaType)
		} else {
			req.Header.Set("Accept", LineItemContainerMediaType)
		}
		resp, err := c.httpClient().Do(req)
		if err != nil {
			return fmt.Errorf("%s line items at %s: %w", method, where, unwrapURL(err))
		}
		if resp.StatusCode == http.StatusUnauthorized && try == 0 {
			c.forget(key, tok)
			drain(resp)
			continue
		}
		s := resp.StatusCode
		if s < 200 || s >= 300 {
			detail := c.detail(resp, tok)
			switch {
			case s == http.StatusUnauthorized || s == http.StatusForbidden:
				return c.configError(ctx, s, where, fmt.Errorf("the platform at %s refused our access token for line items (HTTP %d): %s; check that the tool's registration grants the line item scope", where, s, detail))
			case s == http.StatusTooManyRequests:
				return examgate.RetryAfter(retryAfter(resp.Header.Get("Retry-After"), c.now()), fmt.Errorf("the platform at %s rate limited the line item request (HTTP 429)", where))
			case s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooEarly:
				return examgate.Permanent(fmt.Errorf("the platform at %s refused the line item request (HTTP %d): %s", where, s, detail))
			default:
				return fmt.Errorf("the platform at %s answered HTTP %d to the line item request: %s", where, s, detail)
			}
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("reading the line items of %s: %w", where, err)
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("the platform at %s answered the line item request with something that is not AGS JSON: %v", where, err)
		}
		return nil
	}
}
