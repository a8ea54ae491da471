package titest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// postResult answers assignmentExternalActivity. Like TI, it redirects a
// successful post to /learn, a page meant for browsers.
func (s *Server) postResult(w http.ResponseWriter, r *http.Request, body []byte) {
	fields, msg := jsonObject(r, body)
	if msg == "" {
		msg = firstProblem(
			func() string {
				if st, ok := str(fields, "status"); !ok || (st != "completed" && st != "incomplete") {
					return `status must be "completed" or "incomplete"`
				}
				return ""
			},
			func() string { return nonEmpty(fields, "assignmentId") },
			func() string { return nonEmpty(fields, "learnerId") },
			func() string {
				if g, ok := number(fields, "grade"); !ok || g < 0 || g > 100 {
					return "grade must be a number from 0 to 100"
				}
				return ""
			},
			func() string {
				if _, ok := str(fields, "gradeFeedback"); !ok {
					return "gradeFeedback must be a string"
				}
				return ""
			},
		)
	}
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	learner, _ := str(fields, "learnerId")
	if !s.hasUserID(learner) {
		writeError(w, http.StatusBadRequest, "Learner not found")
		return
	}
	w.Header().Set("Location", "/learn")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusFound)
	_, _ = io.WriteString(w, "Found. Redirecting to /learn")
}

// resetProgress answers a user's resetProgress with an empty JSON object.
func (s *Server) resetProgress(w http.ResponseWriter, r *http.Request, escapedID string, body []byte) {
	id, err := url.PathUnescape(escapedID)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid user id")
		return
	}
	fields, msg := jsonObject(r, body)
	if msg == "" {
		msg = firstProblem(
			func() string { return nonEmpty(fields, "slug") },
			func() string {
				if _, ok := boolean(fields, "resetProgress"); !ok {
					return "resetProgress must be a boolean"
				}
				return ""
			},
			func() string {
				if _, ok := boolean(fields, "revokeAccess"); !ok {
					return "revokeAccess must be a boolean"
				}
				return ""
			},
		)
	}
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	_, ok := s.findLocked(id)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "User not found")
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) hasUserID(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.ID == id {
			return true
		}
	}
	return false
}

// jsonObject checks the content type and parses body as one JSON object;
// msg says what is wrong, or is empty.
func jsonObject(r *http.Request, body []byte) (fields map[string]json.RawMessage, msg string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, "Content-Type must be application/json"
	}
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, "Body must be a JSON object"
	}
	return fields, ""
}

func firstProblem(checks ...func() string) string {
	for _, c := range checks {
		if msg := c(); msg != "" {
			return msg
		}
	}
	return ""
}

func nonEmpty(fields map[string]json.RawMessage, name string) string {
	if v, ok := str(fields, name); !ok || v == "" {
		return name + " must be a non-empty string"
	}
	return ""
}

// The typed readers refuse null and other JSON types, which Unmarshal into
// a Go value would silently accept or convert.
func str(fields map[string]json.RawMessage, name string) (string, bool) {
	raw := bytes.TrimSpace(fields[name])
	var v string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

func number(fields map[string]json.RawMessage, name string) (float64, bool) {
	raw := bytes.TrimSpace(fields[name])
	var v float64
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) || json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	return v, true
}

func boolean(fields map[string]json.RawMessage, name string) (bool, bool) {
	raw := bytes.TrimSpace(fields[name])
	var v bool
	if len(raw) == 0 || (raw[0] != 't' && raw[0] != 'f') || json.Unmarshal(raw, &v) != nil {
		return false, false
	}
	return v, true
}
