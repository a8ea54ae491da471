// Package titest is a fake Thought Industries that speaks the wire format
// examgate uses: the v2 users and coursePurchase endpoints, Bearer API keys,
// cursor paging, and HS256 launch tokens. Tests serve it with httptest; the
// demo server mounts it under a path prefix with http.StripPrefix.
package titest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// DefaultPageSize is the page size when Server.PageSize is zero.
	DefaultPageSize = 25
	maxCalls        = 500
	apiPrefix       = "/incoming/"
)

// User is a TI learner account.
type User struct {
	ID                 string
	Email              string
	ExternalCustomerID string
	FirstName          string
	LastName           string
}

// Purchase is one coursePurchase event.
type Purchase struct {
	UserID   string
	CourseID string
	Slug     string
	SKU      string
	Time     time.Time
}

// Call is one request the server answered.
type Call struct {
	Time   time.Time
	Method string
	Path   string
	Query  string // secrets redacted
	Status int
}

// Server is the fake TI. It is an http.Handler, not a listener.
type Server struct {
	// PageSize is how many events one coursePurchase page holds; set it
	// before serving.
	PageSize int

	apiKey string

	mu         sync.Mutex
	users      []User
	purchases  []Purchase
	failN      int
	failStatus int
	failAfter  string
	down       bool
	calls      []Call
}

// New returns a fake TI that accepts only apiKey as its Bearer token.
func New(apiKey string) *Server {
	return &Server{apiKey: apiKey}
}

// AddUser adds u, or replaces the user with the same email. An empty ID
// keeps the replaced user's ID, or gets a new UUID-like one.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.users {
		if strings.EqualFold(old.Email, u.Email) {
			if u.ID == "" {
				u.ID = old.ID
			}
			s.users[i] = u
			return u
		}
	}
	if u.ID == "" {
		u.ID = newID()
	}
	s.users = append(s.users, u)
	return u
}

// UserByEmail returns the user with email, compared case-insensitively.
func (s *Server) UserByEmail(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.findLocked(email)
}

func (s *Server) findLocked(idOrEmail string) (User, bool) {
	for _, u := range s.users {
		if u.ID == idOrEmail {
			return u, true
		}
	}
	for _, u := range s.users {
		if strings.EqualFold(u.Email, idOrEmail) {
			return u, true
		}
	}
	return User{}, false
}

// AddPurchase records a purchase; a zero Time means now.
func (s *Server) AddPurchase(p Purchase) {
	if p.Time.IsZero() {
		p.Time = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purchases = append(s.purchases, p)
}

// FailNext makes the next n API requests answer status, with a Retry-After
// header when retryAfter is not empty. Injected failures are answered
// before the API key is checked, as an overloaded gateway would.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failAfter = n, status, retryAfter
}

// SetDown makes every API request answer 503 while down is true.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Calls returns a copy of the last requests answered, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Reset forgets the recorded calls.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP answers the TI API. Paths are matched after any prefix has
// been stripped, so the server can be mounted anywhere.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	start := time.Now()
	defer func() {
		s.record(Call{Time: start, Method: r.Method, Path: r.URL.Path, Query: s.redact(r.URL.Query()), Status: sw.status})
	}()

	if !strings.HasPrefix(r.URL.Path, apiPrefix) {
		writeError(sw, http.StatusNotFound, "Not found")
		return
	}
	if status, retryAfter, ok := s.injectedFailure(); ok {
		if retryAfter != "" {
			sw.Header().Set("Retry-After", retryAfter)
		}
		writeError(sw, status, http.StatusText(status))
		return
	}
	if !s.authorized(r) {
		writeError(sw, http.StatusUnauthorized, "Unauthorized")
		return
	}

	// The escaped path keeps an id or email containing "/" in one segment.
	userSeg, isUser := strings.CutPrefix(r.URL.EscapedPath(), "/incoming/v2/users/")
	switch {
	case r.Method == http.MethodGet && isUser && userSeg != "" && !strings.Contains(userSeg, "/"):
		s.getUser(sw, userSeg)
	case r.Method == http.MethodGet && r.URL.Path == "/incoming/v2/events/coursePurchase":
		s.listPurchases(sw, r.URL.Query())
	default:
		writeError(sw, http.StatusNotFound, "Not found")
	}
}

func (s *Server) injectedFailure() (status int, retryAfter string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.down:
		return http.StatusServiceUnavailable, "", true
	case s.failN > 0:
		s.failN--
		return s.failStatus, s.failAfter, true
	}
	return 0, "", false
}

func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.apiKey != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.apiKey)) == 1
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) >= maxCalls {
		s.calls = append(s.calls[:0], s.calls[len(s.calls)-maxCalls+1:]...)
	}
	s.calls = append(s.calls, c)
}

// redact keeps the call log safe to print: TI takes its key in a header,
// but a misbehaving client might put one in the query.
func (s *Server) redact(q url.Values) string {
	for k, vs := range q {
		switch strings.ToLower(k) {
		case "key", "apikey", "api_key", "token", "access_token", "jwt", "secret":
			q[k] = []string{"REDACTED"}
			continue
		}
		for i, v := range vs {
			if s.apiKey != "" && strings.Contains(v, s.apiKey) {
				vs[i] = "REDACTED"
			}
		}
	}
	return q.Encode()
}

type userJSON struct {
	ID                 string `json:"id"`
	Email              string `json:"email"`
	FirstName          string `json:"firstName"`
	LastName           string `json:"lastName"`
	ExternalCustomerID string `json:"externalCustomerId,omitempty"`
}

func (s *Server) getUser(w http.ResponseWriter, escaped string) {
	key, err := url.PathUnescape(escaped)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid user id")
		return
	}
	s.mu.Lock()
	u, ok := s.findLocked(key)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "User not found")
		return
	}
	writeJSON(w, http.StatusOK, userJSON{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, ExternalCustomerID: u.ExternalCustomerID})
}

type eventJSON struct {
	Timestamp       string         `json:"timestamp"`
	PurchasableID   string         `json:"purchasableId"`
	PurchasableType string         `json:"purchasableType"`
	Slug            string         `json:"slug,omitempty"`
	SKU             string         `json:"sku,omitempty"`
	UserDetail      userDetailJSON `json:"userDetail"`
}

type userDetailJSON struct {
	ID                 string `json:"id"`
	Email              string `json:"email,omitempty"`
	ExternalCustomerID string `json:"externalCustomerId,omitempty"`
}

type pageJSON struct {
	PageInfo struct {
		Cursor  string `json:"cursor"`
		HasMore bool   `json:"hasMore"`
	} `json:"pageInfo"`
	Events []eventJSON `json:"events"`
}

func (s *Server) listPurchases(w http.ResponseWriter, q url.Values) {
	offset := 0
	if c := q.Get("cursor"); c != "" {
		var err error
		if offset, err = decodeCursor(c); err != nil {
			writeError(w, http.StatusBadRequest, "Invalid cursor")
			return
		}
	}
	userID, courseID := q.Get("userId"), q.Get("notifiableId")

	s.mu.Lock()
	size := s.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	var matched []eventJSON
	for _, p := range s.purchases {
		if (userID != "" && p.UserID != userID) || (courseID != "" && p.CourseID != courseID) {
			continue
		}
		ev := eventJSON{
			Timestamp:       p.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
			PurchasableID:   p.CourseID,
			PurchasableType: "course",
			Slug:            p.Slug,
			SKU:             p.SKU,
			UserDetail:      userDetailJSON{ID: p.UserID},
		}
		if u, ok := s.findLocked(p.UserID); ok {
			ev.UserDetail.Email, ev.UserDetail.ExternalCustomerID = u.Email, u.ExternalCustomerID
		}
		matched = append(matched, ev)
	}
	s.mu.Unlock()

	var page pageJSON
	page.Events = []eventJSON{}
	if offset < len(matched) {
		end := min(offset+size, len(matched))
		page.Events = matched[offset:end]
		if end < len(matched) {
			page.PageInfo.HasMore = true
			page.PageInfo.Cursor = encodeCursor(end)
		}
	}
	writeJSON(w, http.StatusOK, page)
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	type message struct {
		Message string `json:"message"`
	}
	writeJSON(w, status, struct {
		Errors []message `json:"errors"`
	}{[]message{{msg}}})
}

// newID returns a random version 4 UUID string, the shape TI ids have.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// LaunchToken holds the claims TI puts in a launch JWT.
type LaunchToken struct {
	Email              string
	FirstName          string
	LastName           string
	ExternalCustomerID string
	CourseID           string
	AssignmentID       string
	UserID             string
	IssuedAt           time.Time // zero means now
	ExpiresAt          time.Time // zero means no exp claim
}

// SignLaunch returns c as an HS256 JWT signed with secret, the way TI signs
// launch links. Empty optional claims are left out.
func SignLaunch(secret string, c LaunchToken) (string, error) {
	if secret == "" {
		return "", errors.New("titest: SignLaunch needs a non-empty secret")
	}
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	claims := jwt.MapClaims{"iat": iat.Unix()}
	for k, v := range map[string]string{
		"email":              c.Email,
		"firstName":          c.FirstName,
		"lastName":           c.LastName,
		"externalCustomerId": c.ExternalCustomerID,
		"courseId":           c.CourseID,
		"assignmentId":       c.AssignmentID,
		"userId":             c.UserID,
	} {
		if v != "" {
			claims[k] = v
		}
	}
	if !c.ExpiresAt.IsZero() {
		claims["exp"] = c.ExpiresAt.Unix()
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// LaunchURL returns the examgate launch link TI would open for token.
func LaunchURL(baseURL, examID, token string) string {
	return strings.TrimRight(baseURL, "/") + "/launch/ti?exam_id=" + url.QueryEscape(examID) + "&jwt=" + url.QueryEscape(token)
}
