// Package titest is a fake Thought Industries written from TI's developer
// documentation (developer.thoughtindustries.com, REST section), not from
// examgate's client: the v2 user, coursePurchase, course structure and ping
// endpoints, result posts to assignmentExternalActivity, resetProgress,
// Bearer API keys, cursor paging, rate-limit headers, HS256 launch tokens
// and JWT single sign-on. Each handler names the page whose shapes it
// serves. Where TI's pages disagree (a response wrapped in
// {"data":{"<Operation>":…}} on the endpoint page, bare in the pagination
// guide; errors as strings or as objects) the fake serves each variant, set
// with SetShape and SetErrorStyle, so that the client is tested against all
// of them. Tests serve it with httptest; the demo server mounts it under a
// path prefix with http.StripPrefix.
package titest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// DefaultPageSize is the page size when Server.PageSize is zero.
	DefaultPageSize = 25
	maxCalls        = 500
	maxPostBytes    = 64 << 10
	apiPrefix       = "/incoming/"
	resultPath      = "/incoming/v2/assignmentExternalActivity"
	pingPath        = "/incoming/v2/ping"
	ssoPath         = "/access/jwt"
	// StatusClientGone is recorded for a request whose client went away
	// while it was held; nothing was answered.
	StatusClientGone = 499
)

// User is a TI learner account.
type User struct {
	ID                 string
	Email              string
	ExternalCustomerID string
	FirstName          string
	LastName           string
}

// Purchase is one coursePurchase event. Its course is added to the
// courses the fake knows when it is not there yet.
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

// Posted is one POST the server received, with its body exactly as sent.
type Posted struct {
	Time        time.Time
	Path        string
	ContentType string
	Body        []byte
	Status      int // as answered, StatusClientGone if never answered
}

// Server is the fake TI. It is an http.Handler, not a listener.
type Server struct {
	// PageSize is how many events one coursePurchase page holds; set it
	// before serving.
	PageSize int
	// Now is the fake's clock for call times and SSO token ages; nil means
	// time.Now. Set it before serving.
	Now func() time.Time

	apiKey string

	mu          sync.Mutex
	users       []User
	purchases   []Purchase
	courses     []Course
	shape       Shape
	errStyle    ErrorStyle
	eventTime   EventTime
	featureOff  bool
	resetAnswer *bool // nil: true, as documented
	rate        rateWindow
	failN       int
	failStatus  int
	failAfter   string
	failBody    string
	down        bool
	latency     time.Duration
	hold        chan struct{} // closed on release; nil when not held
	holding     int           // requests waiting on hold
	holdChanged chan struct{} // closed when holding changes
	calls       []Call
	posted      []Posted
	logins      []SSOLogin
	jtis        map[string]bool // sign-in token ids seen
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
	if _, ok := s.courseLocked(p.CourseID); !ok && p.CourseID != "" {
		s.courses = append(s.courses, Course{ID: p.CourseID, Slug: p.Slug, Title: p.Slug})
	}
}

// FailNext makes the next n API requests answer status, with a Retry-After
// header when retryAfter is not empty. Injected failures are answered
// before the API key is checked, as an overloaded gateway would.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.FailNextWith(n, status, retryAfter, "")
}

// FailNextWith is FailNext with the response body; an empty body is TI's
// error JSON with the status text.
func (s *Server) FailNextWith(n, status int, retryAfter, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failAfter, s.failBody = n, status, retryAfter, body
}

// SetLatency delays every API request by d, for a slow TI.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Hold makes API requests wait, unanswered, until release is called or
// their client goes away; then they are answered as usual, or, if the
// client left, dropped unprocessed and logged with StatusClientGone. Holds
// do not nest: the first release ends the hold. Release may be called more
// than once.
func (s *Server) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold == nil {
		s.hold = make(chan struct{})
	}
	ch := s.hold
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == ch {
				s.hold = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// WaitHeld blocks until at least n requests are waiting on Hold, so that a
// test can act while a request is known to be open.
func (s *Server) WaitHeld(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if s.holding >= n {
			s.mu.Unlock()
			return nil
		}
		if s.holdChanged == nil {
			s.holdChanged = make(chan struct{})
		}
		changed := s.holdChanged
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) addHoldingLocked(delta int) {
	s.holding += delta
	if s.holdChanged != nil {
		close(s.holdChanged)
		s.holdChanged = nil
	}
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

// Posted returns a copy of the last POSTs to the API, oldest first,
// including refused ones.
func (s *Server) Posted() []Posted {
	return s.postedWhere(func(string) bool { return true })
}

// ResultPosts returns the POSTs to assignmentExternalActivity.
func (s *Server) ResultPosts() []Posted {
	return s.postedWhere(func(p string) bool { return p == resultPath })
}

// Resets returns the POSTs to a user's resetProgress.
func (s *Server) Resets() []Posted {
	return s.postedWhere(func(p string) bool {
		return strings.HasPrefix(p, "/incoming/v2/users/") && strings.HasSuffix(p, "/resetProgress")
	})
}

func (s *Server) postedWhere(keep func(path string) bool) []Posted {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Posted
	for _, p := range s.posted {
		if keep(p.Path) {
			p.Body = append([]byte(nil), p.Body...)
			out = append(out, p)
		}
	}
	return out
}

// Reset forgets the recorded calls, posts and sign-ins.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.posted, s.logins = nil, nil, nil
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
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

// ServeHTTP answers the TI API and the JWT sign-in page. Paths are matched
// after any prefix has been stripped, so the server can be mounted
// anywhere. Failure injection, Hold and latency apply to the API only.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	start := s.now()
	// The Date header tells TI's clock, which its sign-in checks use.
	sw.Header().Set("Date", start.UTC().Format(http.TimeFormat))
	var post *Posted
	defer func() {
		s.record(Call{Time: start, Method: r.Method, Path: r.URL.Path, Query: s.redact(r.URL.Query()), Status: sw.status})
		if post != nil {
			post.Status = sw.status
			s.recordPost(*post)
		}
	}()

	if r.URL.Path == ssoPath && r.Method == http.MethodGet {
		s.ssoLogin(sw, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, apiPrefix) {
		s.writeError(sw, http.StatusNotFound, "Not found")
		return
	}
	if r.Method == http.MethodPost {
		// Read before anything can refuse the request, so that every body
		// sent is recorded.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxPostBytes+1))
		post = &Posted{Time: start, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body}
		switch {
		case err != nil:
			s.writeError(sw, http.StatusBadRequest, "Could not read the request body")
			return
		case len(body) > maxPostBytes:
			post.Body = body[:maxPostBytes]
			s.writeError(sw, http.StatusRequestEntityTooLarge, "Request body too large")
			return
		}
	}
	if !s.await(r.Context()) {
		sw.status = StatusClientGone
		return
	}
	if status, retryAfter, body, ok := s.injectedFailure(); ok {
		if retryAfter != "" {
			sw.Header().Set("Retry-After", retryAfter)
		}
		if body != "" {
			sw.Header().Set("Content-Type", "application/json; charset=utf-8")
			sw.WriteHeader(status)
			_, _ = io.WriteString(sw, body)
			return
		}
		s.writeError(sw, status, http.StatusText(status))
		return
	}
	if !s.authorized(r) {
		// "Unauthenticated requests return 401 with an empty body."
		// (docs/rest/, Authentication)
		sw.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !s.withinRateLimit(sw) {
		return
	}

	// The escaped path keeps an id or email containing "/" in one segment.
	userSeg, isUser := strings.CutPrefix(r.URL.EscapedPath(), "/incoming/v2/users/")
	resetSeg, isReset := strings.CutSuffix(userSeg, "/resetProgress")
	courseSeg, isCourse := strings.CutPrefix(r.URL.EscapedPath(), "/incoming/v2/courses/")
	courseSeg, isStructure := strings.CutSuffix(courseSeg, "/structure")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == pingPath:
		s.ping(sw)
	case r.Method == http.MethodGet && isUser && userSeg != "" && !strings.Contains(userSeg, "/"):
		s.getUser(sw, userSeg)
	case r.Method == http.MethodGet && r.URL.Path == "/incoming/v2/events/coursePurchase":
		s.listPurchases(sw, r.URL.Query())
	case r.Method == http.MethodGet && isCourse && isStructure && courseSeg != "" && !strings.Contains(courseSeg, "/"):
		s.courseStructure(sw, courseSeg)
	case r.Method == http.MethodPost && r.URL.Path == resultPath:
		s.postResult(sw, r, post.Body)
	case r.Method == http.MethodPost && isUser && isReset && resetSeg != "" && !strings.Contains(resetSeg, "/"):
		s.resetProgress(sw, r, resetSeg, post.Body)
	default:
		s.writeError(sw, http.StatusNotFound, "Not found")
	}
}

// await applies Hold and SetLatency; it reports false if the client went
// away meanwhile.
func (s *Server) await(ctx context.Context) bool {
	s.mu.Lock()
	hold, latency := s.hold, s.latency
	if hold != nil {
		s.addHoldingLocked(1)
	}
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
		}
		s.mu.Lock()
		s.addHoldingLocked(-1)
		s.mu.Unlock()
		if ctx.Err() != nil {
			return false
		}
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (s *Server) injectedFailure() (status int, retryAfter, body string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.down:
		return http.StatusServiceUnavailable, "", "", true
	case s.failN > 0:
		s.failN--
		return s.failStatus, s.failAfter, s.failBody, true
	}
	return 0, "", "", false
}

func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.apiKey != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.apiKey)) == 1
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = keepLast(s.calls, c)
}

func (s *Server) recordPost(p Posted) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posted = keepLast(s.posted, p)
}

// keepLast appends v and keeps at most maxCalls entries, so a long demo
// does not grow without bound.
func keepLast[T any](list []T, v T) []T {
	if len(list) >= maxCalls {
		list = append(list[:0], list[len(list)-maxCalls+1:]...)
	}
	return append(list, v)
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

// newID returns a random version 4 UUID string, the shape TI ids have.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// LaunchToken holds the claims TI puts in a launch JWT. TI does not publish
// the claim set; the customer's document (shared/seeds, "Candidate Info:
// email, name"; "Eligibility: course_id") and TI's JWT SSO attributes
// (email, firstName, lastName, externalCustomerId) give these names.
type LaunchToken struct {
	Email              string
	Name               string // one whole name, as the customer's document lists it
	FirstName          string
	LastName           string
	ExternalCustomerID string
	CourseID           string
	AssignmentID       string
	UserID             string
	SnakeCourseID      bool      // send the course as course_id, the customer document's spelling
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
		"name":               c.Name,
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
	if c.SnakeCourseID && c.CourseID != "" {
		delete(claims, "courseId")
		claims["course_id"] = c.CourseID
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
