package titest

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// postResult answers POST /incoming/v2/assignmentExternalActivity as
// docs/rest/assignments/external-activity shows it: status ("completed" or
// "incomplete") is required; assignmentId and learnerId are required UUIDs,
// else 400 {"errors":["Invalid assignmentId or learnerId (both are
// required)"]}; grade (number), gradeFeedback (string) and returnUrl
// (relative URL) are optional; without the company's externalActivity
// feature the answer is 400 {"errors":["externalActivity feature is not
// enabled"]}. Success is a 302 to returnUrl, or /learn, with no body. The
// page's "Validation errors" section could not be read whole: that a
// learner TI does not know gets a 400 "Learner not found" is this fake's
// assumption, not the page's word.
func (s *Server) postResult(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	off := s.featureOff
	s.mu.Unlock()
	if off {
		s.writeError(w, http.StatusBadRequest, "externalActivity feature is not enabled")
		return
	}
	fields, msg := jsonObject(r, body)
	if msg == "" {
		msg = firstProblem(
			func() string {
				if st, ok := str(fields, "status"); !ok || (st != "completed" && st != "incomplete") {
					return `status must be "completed" or "incomplete"`
				}
				return ""
			},
			func() string {
				a, _ := str(fields, "assignmentId")
				l, _ := str(fields, "learnerId")
				if !IsUUID(a) || !IsUUID(l) {
					return "Invalid assignmentId or learnerId (both are required)"
				}
				return ""
			},
			func() string {
				if _, present := fields["grade"]; !present {
					return ""
				}
				if _, ok := number(fields, "grade"); !ok {
					return "grade must be a number"
				}
				return ""
			},
			func() string { return optionalString(fields, "gradeFeedback") },
			func() string {
				if msg := optionalString(fields, "returnUrl"); msg != "" {
					return msg
				}
				if u, _ := str(fields, "returnUrl"); u != "" && (!strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//")) {
					return "returnUrl must be a relative URL"
				}
				return ""
			},
		)
	}
	if msg != "" {
		s.writeError(w, http.StatusBadRequest, msg)
		return
	}
	learner, _ := str(fields, "learnerId")
	if !s.hasUserID(learner) {
		s.writeError(w, http.StatusBadRequest, "Learner not found")
		return
	}
	to := "/learn"
	if u, _ := str(fields, "returnUrl"); u != "" {
		to = u
	}
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusFound)
}

// resetProgress answers POST /incoming/v2/users/:id/resetProgress as
// docs/rest/privacy/reset-course-progress shows it: slug (string) and
// revokeAccess (boolean) are required; resetProgress and eraseTranscript
// (booleans) and userId (uuid) are optional. The answer is
// {"data":{"ResetUserCourseProgress":true}}, or bare with SetShape(Bare).
func (s *Server) resetProgress(w http.ResponseWriter, r *http.Request, escapedID string, body []byte) {
	id, err := url.PathUnescape(escapedID)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "Invalid user id")
		return
	}
	fields, msg := jsonObject(r, body)
	if msg == "" {
		msg = firstProblem(
			func() string { return nonEmpty(fields, "slug") },
			func() string {
				if _, ok := boolean(fields, "revokeAccess"); !ok {
					return "revokeAccess must be a boolean"
				}
				return ""
			},
			func() string { return optionalBool(fields, "resetProgress") },
			func() string { return optionalBool(fields, "eraseTranscript") },
			func() string {
				if _, present := fields["userId"]; !present {
					return ""
				}
				if u, ok := str(fields, "userId"); !ok || !IsUUID(u) {
					return "userId must be a UUID"
				}
				return ""
			},
		)
	}
	if msg != "" {
		s.writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	_, ok := s.findLocked(id)
	answer := s.resetAnswer == nil || *s.resetAnswer
	s.mu.Unlock()
	if !ok {
		s.writeError(w, http.StatusNotFound, "User not found")
		return
	}
	// Bare, the operation's name stays as the key: a lone true would say
	// nothing of what was done.
	var out any = map[string]bool{"ResetUserCourseProgress": answer}
	if env, ok := s.envelope("ResetUserCourseProgress", answer).(map[string]any); ok {
		out = env
	}
	writeJSON(w, http.StatusOK, out)
}

func optionalString(fields map[string]json.RawMessage, name string) string {
	if _, present := fields[name]; !present {
		return ""
	}
	if _, ok := str(fields, name); !ok {
		return name + " must be a string"
	}
	return ""
}

func optionalBool(fields map[string]json.RawMessage, name string) string {
	if _, present := fields[name]; !present {
		return ""
	}
	if _, ok := boolean(fields, name); !ok {
		return name + " must be a boolean"
	}
	return ""
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
