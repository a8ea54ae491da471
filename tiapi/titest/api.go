package titest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Shape is how the fake lays out a JSON answer. TI's pages disagree.
type Shape int

const (
	// Enveloped wraps the answer as {"data":{"<Operation>":…}}, as the
	// endpoint pages show it (docs/rest/users/details "UserById",
	// docs/rest/events/course-purchase "APIEvents",
	// docs/rest/privacy/reset-course-progress "ResetUserCourseProgress",
	// docs/rest/courses/structure "APICourseStructure").
	Enveloped Shape = iota
	// Bare serves the same fields at the top level, as the pagination
	// guide shows events (docs/rest/pagination, "Events endpoint
	// pagination") and the course-structure tutorial shows a course
	// (api-tutorials/create-courses/get-course-structure).
	Bare
)

// ErrorStyle is how the fake writes the "errors" list of a 4xx answer.
type ErrorStyle int

const (
	// StringErrors is {"errors":["…"]}, as the External Activity page shows
	// its 400s (docs/rest/assignments/external-activity).
	StringErrors ErrorStyle = iota
	// ObjectErrors is {"errors":[{"error":"…"}]}, the per-record error
	// objects of docs/rest/licenses/bulk-assignment, for a TI that answers
	// with objects instead.
	ObjectErrors
)

// EventTime is where a coursePurchase event carries its time. TI documents
// no event fields at all (docs/rest/events/course-purchase shows
// "events": [{}]); the REST overview (docs/rest/, Conventions) says bodies
// carry ISO 8601 strings while cursors and date filters use Unix
// milliseconds. The fake serves each plausible spelling in turn.
type EventTime int

const (
	// TimestampISO is "timestamp": "2026-01-02T03:04:05.000Z".
	TimestampISO EventTime = iota
	// CreatedAtISO is "createdAt": "2026-01-02T03:04:05.000Z".
	CreatedAtISO
	// TimestampMillis is "timestamp": 1767323045000.
	TimestampMillis
	// NoTime leaves the time out, for a TI whose events the client cannot
	// date.
	NoTime
)

// Course is a TI course the fake knows, for docs/rest/courses/structure.
type Course struct {
	ID    string
	Slug  string
	Title string
}

// AddCourse adds c, or replaces the course with the same ID.
func (s *Server) AddCourse(c Course) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.courses {
		if old.ID == c.ID {
			s.courses[i] = c
			return
		}
	}
	s.courses = append(s.courses, c)
}

func (s *Server) courseLocked(id string) (Course, bool) {
	for _, c := range s.courses {
		if c.ID == id {
			return c, true
		}
	}
	return Course{}, false
}

// SetShape chooses the enveloped (default) or the bare layout of answers.
func (s *Server) SetShape(sh Shape) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shape = sh
}

// SetErrorStyle chooses string (default) or object entries in "errors".
func (s *Server) SetErrorStyle(st ErrorStyle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errStyle = st
}

// SetEventTime chooses how purchase events carry their time.
func (s *Server) SetEventTime(et EventTime) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eventTime = et
}

// SetExternalActivityEnabled switches the company's externalActivity
// feature, which assignmentExternalActivity requires; it is on by default.
func (s *Server) SetExternalActivityEnabled(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.featureOff = !on
}

// SetResetAnswer sets the ResetUserCourseProgress value resetProgress
// answers; TI documents true, and a client must not take anything else as
// done.
func (s *Server) SetResetAnswer(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetAnswer = &v
}

// SetRateLimit makes the fake count requests per minute as TI does
// (docs/rest/rate-limits): every answer carries X-RateLimit-Limit,
// X-RateLimit-Remaining and X-RateLimit-Reset (Unix seconds), and a request
// over the limit gets the page's 429 with Retry-After. Zero, the default,
// turns counting and the headers off.
func (s *Server) SetRateLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = rateWindow{limit: perMinute}
}

type rateWindow struct {
	limit int
	start time.Time
	count int
}

// withinRateLimit counts the request; it answers the 429 itself and
// reports false when the request is over the limit.
func (s *Server) withinRateLimit(w http.ResponseWriter) bool {
	now := s.now()
	s.mu.Lock()
	rw := &s.rate
	if rw.limit <= 0 {
		s.mu.Unlock()
		return true
	}
	if rw.start.IsZero() || now.Sub(rw.start) >= time.Minute {
		rw.start, rw.count = now.Truncate(time.Minute), 0
	}
	rw.count++
	limit, count, reset := rw.limit, rw.count, rw.start.Add(time.Minute)
	s.mu.Unlock()

	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-count, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if count <= limit {
		return true
	}
	wait := int(reset.Sub(now).Round(time.Second) / time.Second)
	wait = max(wait, 1)
	h.Set("Retry-After", strconv.Itoa(wait))
	// The 429 body of docs/rest/rate-limits, "Handling rate limit errors".
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"error":      "rate_limit_exceeded",
		"message":    "Request rate limit reached. Retry after " + strconv.Itoa(wait) + " seconds.",
		"retryAfter": wait,
	})
	return false
}

// ping answers GET /incoming/v2/ping with {"valid": true}, bare, as
// docs/rest/ping shows it.
func (s *Server) ping(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]bool{"valid": true})
}

// envelope lays v out in the chosen shape under TI's operation name.
func (s *Server) envelope(op string, v any) any {
	s.mu.Lock()
	sh := s.shape
	s.mu.Unlock()
	if sh == Bare {
		return v
	}
	return map[string]any{"data": map[string]any{op: v}}
}

// userJSON is the start of the UserById example of docs/rest/users/details;
// the rest of the profile (purchasedCourses, licenses…) is not served.
type userJSON struct {
	ID                 string `json:"id"`
	Email              string `json:"email"`
	FirstName          string `json:"firstName"`
	LastName           string `json:"lastName"`
	Name               string `json:"name"`
	ExternalCustomerID string `json:"externalCustomerId,omitempty"`
}

// getUser answers GET /incoming/v2/users/:id (docs/rest/users/details):
// {"data":{"UserById":{…}}}. The page types :id as a uuid; the
// update-status page (docs/rest/users/update-status) says a user's :id may
// also be an email address or externalCustomerId, so all three are found.
// An unknown user is a 404 (docs/rest/status-codes: "Resource does not
// exist").
func (s *Server) getUser(w http.ResponseWriter, escaped string) {
	key, err := url.PathUnescape(escaped)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "Invalid user id")
		return
	}
	s.mu.Lock()
	u, ok := s.findLocked(key)
	if !ok {
		for _, c := range s.users {
			if c.ExternalCustomerID != "" && c.ExternalCustomerID == key {
				u, ok = c, true
				break
			}
		}
	}
	s.mu.Unlock()
	if !ok {
		s.writeError(w, http.StatusNotFound, "User not found")
		return
	}
	writeJSON(w, http.StatusOK, s.envelope("UserById", userJSON{
		ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Name: strings.TrimSpace(u.FirstName + " " + u.LastName), ExternalCustomerID: u.ExternalCustomerID,
	}))
}

// listPurchases answers GET /incoming/v2/events/coursePurchase
// (docs/rest/events/course-purchase), filtered by userId and notifiableId
// and, inclusively, by startDate and endDate. Enveloped, it is
// {"data":{"APIEvents":{"pageInfo":{"perPage","cursor","total","hasMore"},
// "events":[…]}}} as on that page; bare, {"pageInfo":{"cursor","hasMore"},
// "events":[…]} as in docs/rest/pagination.
func (s *Server) listPurchases(w http.ResponseWriter, q url.Values) {
	offset := 0
	if c := q.Get("cursor"); c != "" {
		var err error
		if offset, err = decodeCursor(c); err != nil {
			s.writeError(w, http.StatusBadRequest, "Invalid cursor")
			return
		}
	}
	from, err1 := dateParam(q.Get("startDate"))
	to, err2 := dateParam(q.Get("endDate"))
	if err1 != nil || err2 != nil {
		s.writeError(w, http.StatusBadRequest, "startDate and endDate must be ISO 8601 timestamps or Unix milliseconds")
		return
	}
	userID, courseID := q.Get("userId"), q.Get("notifiableId")

	s.mu.Lock()
	size := s.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	shape, et := s.shape, s.eventTime
	var matched []map[string]any
	for i, p := range s.purchases {
		if (userID != "" && p.UserID != userID) || (courseID != "" && p.CourseID != courseID) ||
			(!from.IsZero() && p.Time.Before(from)) || (!to.IsZero() && p.Time.After(to)) {
			continue
		}
		ev := map[string]any{
			"id":           eventID(i),
			"kind":         "coursePurchase",
			"userId":       p.UserID,
			"notifiableId": p.CourseID,
		}
		if p.Slug != "" {
			ev["slug"] = p.Slug
		}
		if p.SKU != "" {
			ev["sku"] = p.SKU
		}
		iso := p.Time.UTC().Format("2006-01-02T15:04:05.000Z")
		switch et {
		case TimestampISO:
			ev["timestamp"] = iso
		case CreatedAtISO:
			ev["createdAt"] = iso
		case TimestampMillis:
			ev["timestamp"] = p.Time.UnixMilli()
		}
		matched = append(matched, ev)
	}
	s.mu.Unlock()

	events := []map[string]any{}
	var cursor string
	hasMore := false
	if offset < len(matched) {
		end := min(offset+size, len(matched))
		events = matched[offset:end]
		if end < len(matched) {
			hasMore, cursor = true, encodeCursor(end)
		}
	}
	if shape == Bare {
		writeJSON(w, http.StatusOK, map[string]any{
			"pageInfo": map[string]any{"cursor": cursor, "hasMore": hasMore},
			"events":   events,
		})
		return
	}
	writeJSON(w, http.StatusOK, s.envelope("APIEvents", map[string]any{
		"pageInfo": map[string]any{"perPage": size, "cursor": cursor, "total": len(matched), "hasMore": hasMore},
		"events":   events,
	}))
}

// dateParam reads startDate or endDate: the endpoint page says ISO 8601,
// the REST overview says Unix milliseconds, so both are taken.
func dateParam(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	return time.Parse(time.RFC3339Nano, v)
}

func eventID(i int) string {
	return "00000000-0000-4000-8000-" + strconv.FormatInt(int64(100000000000+i), 10)
}

// courseStructure answers GET /incoming/v2/courses/:courseId/structure
// (docs/rest/courses/structure): {"data":{"APICourseStructure":{"id",
// "title","status","sections":[]}}}, the closest TI has to a course
// lookup. An unknown course is a 404.
func (s *Server) courseStructure(w http.ResponseWriter, escaped string) {
	id, err := url.PathUnescape(escaped)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "Invalid course id")
		return
	}
	s.mu.Lock()
	c, ok := s.courseLocked(id)
	s.mu.Unlock()
	if !ok {
		s.writeError(w, http.StatusNotFound, "Course not found")
		return
	}
	writeJSON(w, http.StatusOK, s.envelope("APICourseStructure", map[string]any{
		"id": c.ID, "title": c.Title, "status": "published", "sections": []any{},
	}))
}

// Cursors are opaque to clients, as TI's are; only this server reads them.
func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(string(b), "offset:")
	if !ok {
		return 0, errors.New("not a cursor")
	}
	off, err := strconv.Atoi(n)
	if err != nil || off < 0 {
		return 0, errors.New("not a cursor")
	}
	return off, nil
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether s is spelled as a UUID, the type TI's pages give
// user, course and assignment ids.
func IsUUID(s string) bool { return uuidRE.MatchString(s) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers status with {"errors":[msg]} or, with ObjectErrors,
// {"errors":[{"error":msg}]}.
func (s *Server) writeError(w http.ResponseWriter, status int, msg string) {
	s.mu.Lock()
	st := s.errStyle
	s.mu.Unlock()
	if st == ObjectErrors {
		writeJSON(w, status, map[string]any{"errors": []map[string]string{{"error": msg}}})
		return
	}
	writeJSON(w, status, map[string]any{"errors": []string{msg}})
}
