package ags

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/examgate/examgate"
	"github.com/golang-jwt/jwt/v5"
)

const (
	// ScoreScope is the OAuth2 scope that lets a tool post scores.
	ScoreScope = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
	// ScoreMediaType is the content type of a score.
	ScoreMediaType = "application/vnd.ims.lis.v1.score+json"
	// AssertionType is the OAuth2 client assertion type of a signed JWT.
	AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

	// DefaultConfigRetry is Client.ConfigRetry when it is zero.
	DefaultConfigRetry = 30 * time.Minute
	// AssertionLifetime is how long a client assertion is valid: only for
	// the one token request it is made for.
	AssertionLifetime = 5 * time.Minute

	defaultTokenLifetime = 5 * time.Minute // when the platform sends no expires_in
	maxTokenLifetime     = 24 * time.Hour  // a longer expires_in is not trusted
	defaultRateWait      = time.Minute     // after a 429 without Retry-After
	maxBodyBytes         = 64 << 10        // token responses and error bodies are small
	maxDetailBytes       = 300
	maxTokenBytes        = 4096
)

// Signer gives the active signing key; *Keys implements it.
type Signer interface {
	Signing(ctx context.Context) (SigningKey, error)
}

// Client gets access tokens from platforms and posts scores. It implements
// examgate.LTIScorePoster. The exported fields may be replaced before first
// use. Safe for concurrent use.
type Client struct {
	HTTP   *http.Client
	Keys   Signer
	Clock  examgate.Clock // default SystemClock
	Logger *slog.Logger   // optional
	// ConfigRetry is how long a score waits after the platform refused our
	// client (unknown client id, key not registered, scope not granted) or
	// the URL: someone has to fix the registration, and asking again
	// meanwhile only fills the logs.
	ConfigRetry time.Duration

	mu     sync.Mutex
	tokens map[tokenKey]cachedToken
}

var _ examgate.LTIScorePoster = (*Client)(nil)

type tokenKey struct{ url, clientID, scope string }

type cachedToken struct {
	value string
	until time.Time
}

// NewClient returns a client signing with keys, with request timeouts and
// without following redirects (a redirected POST would lose its body, and
// the token must not follow it elsewhere).
func NewClient(keys Signer, clock examgate.Clock) *Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 8
	return &Client{
		HTTP: &http.Client{
			Timeout:       15 * time.Second,
			Transport:     t,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Keys:        keys,
		Clock:       clock,
		ConfigRetry: DefaultConfigRetry,
	}
}

// ScoresURL returns the scores endpoint of a line item: its path with
// /scores added before any query string, unless it already ends so (as
// SkillsTown's lineitem claim does).
func ScoresURL(lineItem string) (string, error) {
	u, err := endpoint(lineItem, "line item URL")
	if err != nil {
		return "", err
	}
	u.Fragment, u.RawFragment = "", ""
	if strings.HasSuffix(u.Path, "/scores") {
		return u.String(), nil
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/scores"
	if u.RawPath != "" {
		u.RawPath = strings.TrimSuffix(u.RawPath, "/") + "/scores"
	}
	return u.String(), nil
}

// endpoint accepts an absolute https URL, or http to this machine (tests
// and the demo): a bearer token or assertion must not cross the network in
// clear.
func endpoint(raw, what string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil || u.Host == "" || !u.IsAbs():
		return nil, fmt.Errorf("%s %q is not an absolute URL", what, clipText(raw))
	case u.User != nil:
		return nil, fmt.Errorf("%s must not carry credentials", what)
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return u, nil
	default:
		return nil, fmt.Errorf("%s %s://%s is not https", what, u.Scheme, u.Host)
	}
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// scoreBody fixes the key order of the JSON the platform receives.
type scoreBody struct {
	UserID           string   `json:"userId"`
	ActivityProgress string   `json:"activityProgress"`
	GradingProgress  string   `json:"gradingProgress"`
	ScoreGiven       *float64 `json:"scoreGiven,omitempty"`
	ScoreMaximum     *float64 `json:"scoreMaximum,omitempty"`
	Timestamp        string   `json:"timestamp"`
	Comment          string   `json:"comment,omitempty"`
}

// TimestampFormat is ISO 8601 with milliseconds and a numeric offset, as
// SkillsTown documents ("2024-06-27T08:30:33.123+00:00").
const TimestampFormat = "2006-01-02T15:04:05.000-07:00"

// PostScore sends s to its line item's scores endpoint with a token from
// tokenURL. A 401 from the scores endpoint drops the cached token and tries
// once more with a new one. It makes no other retries: the error says how
// the job worker should retry.
func (c *Client) PostScore(ctx context.Context, tokenURL string, s examgate.LTIScoreJob) error {
	if err := s.Check(); err != nil {
		return examgate.Permanent(fmt.Errorf("LTI score cannot be sent: %w", err))
	}
	target, err := ScoresURL(s.LineItemURL)
	if err != nil {
		return examgate.Permanent(fmt.Errorf("%w; the platform sent it in the launch, so fix it at the platform and launch again", err))
	}
	b := scoreBody{
		UserID: s.UserID, ActivityProgress: s.ActivityProgress, GradingProgress: s.GradingProgress,
		ScoreGiven: s.ScoreGiven, Timestamp: s.Timestamp.Format(TimestampFormat), Comment: s.Comment,
	}
	if s.ScoreMaximum > 0 {
		b.ScoreMaximum = &s.ScoreMaximum
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return examgate.Permanent(fmt.Errorf("encoding the score: %w", err))
	}
	payload := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))

	key := tokenKey{tokenURL, s.ClientID, ScoreScope}
	for try := 0; ; try++ {
		tok, err := c.token(ctx, key)
		if err != nil {
			return err
		}
		resp, err := c.send(ctx, target, tok, payload)
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusUnauthorized {
			// The platform forgot or revoked the token before expires_in.
			c.forget(key, tok)
			if try == 0 {
				drain(resp)
				continue
			}
		}
		return c.classifyScore(ctx, target, tok, resp)
	}
}

func (c *Client) send(ctx context.Context, target, tok string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return nil, examgate.Permanent(fmt.Errorf("building the score request: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", ScoreMediaType)
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST score to %s: %w", hostOf(target), unwrapURL(err))
	}
	return resp, nil
}

// classifyScore turns the answer to a score POST into an error for the
// worker:
//
//   - 2xx: nil.
//   - 401 (a second time, with a new token) and 403: the platform does not
//     let our client post scores; RetryAfter(ConfigRetry).
//   - 429: RetryAfter(Retry-After, or a minute).
//   - 408 and 425: about the try, not the score; a plain error.
//   - other 4xx: the platform refused the score (unknown user, deleted
//     line item, bad value); Permanent, with its message.
//   - redirects: configuration; RetryAfter(ConfigRetry).
//   - 5xx and anything else: a plain error, retried with backoff.
func (c *Client) classifyScore(ctx context.Context, target, tok string, resp *http.Response) error {
	s := resp.StatusCode
	if s >= 200 && s < 300 {
		drain(resp)
		return nil
	}
	detail := c.detail(resp, tok)
	where := hostOf(target)
	switch {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return c.configError(ctx, s, where, fmt.Errorf("the platform at %s refused our access token for scores (HTTP %d, also with a new token): %s; check that the tool's registration on the platform grants the score scope", where, s, detail))
	case s == http.StatusTooManyRequests:
		d := retryAfter(resp.Header.Get("Retry-After"), c.now())
		return examgate.RetryAfter(d, fmt.Errorf("the platform at %s rate limited the score (HTTP 429)", where))
	case s == http.StatusRequestTimeout || s == http.StatusTooEarly:
		// Said by proxies and load balancers in front of the platform,
		// about this try, not the score.
		return fmt.Errorf("the platform at %s answered HTTP %d to the score, retrying: %s", where, s, detail)
	case s >= 400 && s < 500:
		return examgate.Permanent(fmt.Errorf("the platform at %s refused the score (HTTP %d): %s; correct it at the platform, then retry the delivery", where, s, detail))
	case s >= 300 && s < 400:
		return c.configError(ctx, s, where, fmt.Errorf("the platform at %s redirected the score (HTTP %d); the line item URL from the launch is not where it accepts scores", where, s))
	default:
		return fmt.Errorf("the platform at %s answered HTTP %d to the score: %s", where, s, detail)
	}
}

// Token returns an access token for scope, from the cache while it is
// valid, else from the platform's token endpoint.
func (c *Client) Token(ctx context.Context, tokenURL, clientID, scope string) (string, error) {
	return c.token(ctx, tokenKey{tokenURL, clientID, scope})
}

func (c *Client) token(ctx context.Context, key tokenKey) (string, error) {
	now := c.now()
	c.mu.Lock()
	t, ok := c.tokens[key]
	c.mu.Unlock()
	if ok && now.Before(t.until) {
		return t.value, nil
	}
	value, life, err := c.fetchToken(ctx, key, now)
	if err != nil {
		return "", err
	}
	// Renew a little before the platform's expiry, so that a token is not
	// sent in its last seconds and refused on arrival.
	margin := min(time.Minute, life/5)
	c.mu.Lock()
	if c.tokens == nil {
		c.tokens = make(map[tokenKey]cachedToken)
	}
	c.tokens[key] = cachedToken{value: value, until: now.Add(life - margin)}
	c.mu.Unlock()
	return value, nil
}

// forget drops a token the platform refused, unless it was replaced
// meanwhile.
func (c *Client) forget(key tokenKey, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[key]; ok && t.value == value {
		delete(c.tokens, key)
	}
}

type tokenResponse struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
}

func (c *Client) fetchToken(ctx context.Context, key tokenKey, now time.Time) (string, time.Duration, error) {
	u, err := endpoint(key.url, "token URL")
	if err != nil {
		return "", 0, c.configError(ctx, 0, "", fmt.Errorf("%w; correct the platform's registration", err))
	}
	where := u.Host
	assertion, err := c.assertion(ctx, key, now)
	if err != nil {
		return "", 0, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {AssertionType},
		"client_assertion":      {assertion},
		"scope":                 {key.scope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, examgate.Permanent(fmt.Errorf("building the token request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("POST token request to %s: %w", where, unwrapURL(err))
	}
	s := resp.StatusCode
	if s >= 200 && s < 300 {
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
		if err != nil {
			return "", 0, fmt.Errorf("reading the token response from %s: %w", where, err)
		}
		if len(body) > maxBodyBytes {
			return "", 0, fmt.Errorf("the token response from %s is larger than %d bytes", where, maxBodyBytes)
		}
		var tr tokenResponse
		if err := json.Unmarshal(body, &tr); err != nil {
			return "", 0, fmt.Errorf("the token response from %s is not the expected JSON", where)
		}
		switch {
		case tr.AccessToken == "" || len(tr.AccessToken) > maxTokenBytes || strings.ContainsAny(tr.AccessToken, " \r\n"):
			return "", 0, fmt.Errorf("the token response from %s has no usable access_token", where)
		case !strings.EqualFold(tr.TokenType, "bearer"):
			return "", 0, fmt.Errorf("the token response from %s has token_type %q, not Bearer", where, clipText(tr.TokenType))
		}
		return tr.AccessToken, tokenLifetime(tr.ExpiresIn), nil
	}
	detail, code := c.tokenError(resp, assertion)
	switch {
	case s == http.StatusTooManyRequests:
		d := retryAfter(resp.Header.Get("Retry-After"), now)
		return "", 0, examgate.RetryAfter(d, fmt.Errorf("the platform at %s rate limited the token request (HTTP 429)", where))
	case code == "invalid_client" || code == "unauthorized_client" || code == "invalid_scope" ||
		s == http.StatusUnauthorized || s == http.StatusForbidden || s == http.StatusNotFound:
		// Fixable at the platform or in our registration: unknown client
		// id, our JWKS URL or key not registered there, the score scope
		// not granted, or a wrong token URL.
		return "", 0, c.configError(ctx, s, where, fmt.Errorf("the platform at %s refused the token request (HTTP %d): %s; check the client id and token URL of the registration, and that the platform has our JWKS URL and grants the score scope", where, s, detail))
	case s >= 400 && s < 500:
		return "", 0, examgate.Permanent(fmt.Errorf("the platform at %s refused the token request (HTTP %d): %s", where, s, detail))
	case s >= 300 && s < 400:
		return "", 0, c.configError(ctx, s, where, fmt.Errorf("the platform at %s redirected the token request (HTTP %d); set the registration's token URL to where the platform answers", where, s))
	default:
		return "", 0, fmt.Errorf("the platform at %s answered HTTP %d to the token request: %s", where, s, detail)
	}
}

// assertion is the JWT that authenticates our client (RFC 7523, as the
// IMS security framework requires): signed RS256 with the active key.
func (c *Client) assertion(ctx context.Context, key tokenKey, now time.Time) (string, error) {
	if c.Keys == nil {
		return "", examgate.Permanent(errors.New("the LTI score client has no tool keys"))
	}
	sk, err := c.Keys.Signing(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the LTI tool key: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": key.clientID,
		"sub": key.clientID,
		"aud": key.url,
		"iat": now.Unix(),
		"exp": now.Add(AssertionLifetime).Unix(),
		"jti": hex.EncodeToString(jti),
	})
	t.Header["kid"] = sk.KID
	signed, err := t.SignedString(sk.Key)
	if err != nil {
		return "", fmt.Errorf("signing the client assertion with key %s: %w", sk.KID, err)
	}
	return signed, nil
}

// tokenLifetime reads expires_in (seconds, a number or a numeric string).
func tokenLifetime(raw json.RawMessage) time.Duration {
	var n json.Number
	if len(raw) == 0 || json.Unmarshal(raw, &n) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return defaultTokenLifetime
		}
		n = json.Number(s)
	}
	secs, err := n.Float64()
	if err != nil || secs <= 0 {
		return defaultTokenLifetime
	}
	return min(time.Duration(secs*float64(time.Second)), maxTokenLifetime)
}

// tokenError reads an OAuth2 error body ({"error","error_description"}).
func (c *Client) tokenError(resp *http.Response, assertion string) (detail, code string) {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e)
	return sanitize(describe(body), assertion), e.Error
}

func (c *Client) detail(resp *http.Response, tok string) string {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	return sanitize(describe(body), tok)
}

// describe returns the messages of the common JSON error shapes, or the
// start of the body.
func describe(body []byte) string {
	var e struct {
		Error       any    `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"`
		Errors      []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	var parts []string
	if json.Unmarshal(body, &e) == nil {
		switch v := e.Error.(type) {
		case string:
			parts = append(parts, v)
		case map[string]any:
			if m, ok := v["message"].(string); ok {
				parts = append(parts, m)
			}
		}
		for _, m := range append([]string{e.Description, e.Message}, messages(e.Errors)...) {
			if m = strings.TrimSpace(m); m != "" {
				parts = append(parts, m)
			}
		}
	}
	if len(parts) == 0 {
		return strings.TrimSpace(string(body))
	}
	return strings.Join(parts, ": ")
}

func messages(errs []struct {
	Message string `json:"message"`
}) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Message
	}
	return out
}

// sanitize makes a platform's message safe for logs and job errors: no
// secret we sent (a proxy may echo the request), no control characters,
// bounded.
func sanitize(text, secret string) string {
	if secret != "" {
		text = strings.ReplaceAll(text, secret, "REDACTED")
	}
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, text)
	if text == "" {
		return "no message"
	}
	if len(text) > maxDetailBytes {
		text = strings.ToValidUTF8(text[:maxDetailBytes], "") + "…"
	}
	return text
}

// configError logs a failure only a person can fix and asks the worker to
// come back after ConfigRetry.
func (c *Client) configError(ctx context.Context, status int, where string, err error) error {
	if c.Logger != nil {
		c.Logger.ErrorContext(ctx, "LTI platform refused our client or URL; check the registration", "status", status, "platform", where, "error", err)
	}
	d := c.ConfigRetry
	if d <= 0 {
		d = DefaultConfigRetry
	}
	return examgate.RetryAfter(d, err)
}

// retryAfter reads a Retry-After header, delta seconds or an HTTP-date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return defaultRateWait
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes)) // lets the connection be reused
	resp.Body.Close()
}

// unwrapURL drops url.Error's copy of the URL: a line item URL may carry
// the learner's or the course's ids in its query.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "the platform"
}

func clipText(s string) string {
	if len(s) > 80 {
		return strings.ToValidUTF8(s[:80], "") + "…"
	}
	return s
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

func (c *Client) now() time.Time {
	if c.Clock == nil {
		return examgate.SystemClock{}.Now()
	}
	return c.Clock.Now()
}
