package ltitest

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The line item service of AGS 2.0 (https://www.imsglobal.org/spec/lti-ags/v2p0,
// 3.2), written out here for the same reason as the score constants.
const (
	// LineItemsContainerPath is the line items container of the course.
	LineItemsContainerPath    = "/lineitems"
	agsLineItemScope          = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
	agsLineItemReadScope      = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
	agsLineItemMediaType      = "application/vnd.ims.lis.v2.lineitem+json"
	agsLineItemContainerMedia = "application/vnd.ims.lis.v2.lineitemcontainer+json"
)

// AGSLineItem is a line item of the course's container.
type AGSLineItem struct {
	ID             string  `json:"id"`
	ScoreMaximum   float64 `json:"scoreMaximum"`
	Label          string  `json:"label"`
	ResourceID     string  `json:"resourceId,omitempty"`
	ResourceLinkID string  `json:"resourceLinkId,omitempty"`
	Tag            string  `json:"tag,omitempty"`
}

// LineItemsURL is the course's line items container, as the lineitems
// claim names it.
func (s *AGSService) LineItemsURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimRight(s.BaseURL, "/") + LineItemsContainerPath
}

// AddLineItem puts a line item in the container (an instructor made it in
// the gradebook); its ID is assigned.
func (s *AGSService) AddLineItem(li AGSLineItem) AGSLineItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLineItemLocked(li)
}

func (s *AGSService) addLineItemLocked(li AGSLineItem) AGSLineItem {
	li.ID = strings.TrimRight(s.BaseURL, "/") + LineItemsPath + "li-" + strconv.Itoa(len(s.lineItems)+1)
	s.lineItems = append(s.lineItems, li)
	return li
}

// LineItems returns the line items of the container, the created ones
// included.
func (s *AGSService) LineItems() []AGSLineItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lineItems)
}

// serveLineItems answers the container: GET lists its line items, filtered
// by resource_link_id, resource_id and tag (AGS 3.2.5), with the lineitem
// or lineitem.readonly scope; POST creates one with the lineitem scope
// (AGS 3.2.6), which must have a scoreMaximum above 0 and a label (3.2.7).
func (s *AGSService) serveLineItems(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	t, known := s.tokens[tok]
	s.mu.Unlock()
	if !known || t.revoked || !s.now().Before(t.expires) {
		agsError(w, http.StatusUnauthorized, "invalid_token", "unknown or expired bearer token")
		return
	}
	switch r.Method {
	case http.MethodGet:
		if !slices.Contains(t.scopes, agsLineItemScope) && !slices.Contains(t.scopes, agsLineItemReadScope) {
			agsError(w, http.StatusForbidden, "insufficient_scope", "the token does not grant a line item scope")
			return
		}
		q := r.URL.Query()
		s.mu.Lock()
		out := []AGSLineItem{}
		for _, li := range s.lineItems {
			if (q.Has("resource_link_id") && li.ResourceLinkID != q.Get("resource_link_id")) ||
				(q.Has("resource_id") && li.ResourceID != q.Get("resource_id")) || (q.Has("tag") && li.Tag != q.Get("tag")) {
				continue
			}
			out = append(out, li)
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", agsLineItemContainerMedia)
		_ = json.NewEncoder(w).Encode(out)
	case http.MethodPost:
		if !slices.Contains(t.scopes, agsLineItemScope) {
			agsError(w, http.StatusForbidden, "insufficient_scope", "the token does not grant the lineitem scope")
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != agsLineItemMediaType {
			agsError(w, http.StatusUnsupportedMediaType, "invalid_request", "Content-Type must be "+agsLineItemMediaType)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, agsMaxBody))
		var li AGSLineItem
		if err != nil || json.Unmarshal(body, &li) != nil || li.ScoreMaximum <= 0 || strings.TrimSpace(li.Label) == "" || li.ID != "" {
			agsError(w, http.StatusBadRequest, "invalid_request", "a line item needs a scoreMaximum above 0 and a label, and no id")
			return
		}
		s.mu.Lock()
		li = s.addLineItemLocked(li)
		s.mu.Unlock()
		w.Header().Set("Content-Type", agsLineItemMediaType)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(li)
	default:
		w.Header().Set("Allow", "GET, POST")
		agsError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
	}
}
