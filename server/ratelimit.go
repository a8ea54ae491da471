package server

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/graph"
)

// RateLimits are the request budgets of /graphql, as token buckets: a
// client may send Burst requests at once and then Rate a second. A zero
// Rate turns that budget off.
type RateLimits struct {
	// Key is the budget of each API key (a request with
	// Authorization: Bearer) once it has authenticated, keyed by a hash of
	// the key. A key not (yet) known to be good (a wrong, revoked or made-up
	// one, or a good one's first request) spends from its client address's
	// Learner budget instead, so that new random keys are throttled like any
	// other anonymous traffic before anything looks them up.
	Key Budget
	// Learner is the budget of each learner session and, for requests with
	// neither a key nor a session, of each client IP address. The SPA's
	// autosave sends a request per answer, so this one is more generous.
	Learner Budget
	// LTILogin is the budget of each client address at /lti/login, where
	// every request stores a pending login (0: DefaultLTILoginBudget).
	LTILogin Budget
	// MaxClients bounds how many buckets are kept (0: DefaultMaxClients).
	MaxClients int
	// Now is the clock; nil is time.Now. Budgets are about wall-clock
	// traffic, not the domain clock (which the demo may move).
	Now func() time.Time
}

// Budget is one token bucket's size and refill rate.
type Budget struct {
	Rate  float64 // requests a second
	Burst int
}

// DefaultMaxClients is how many buckets are kept unless said otherwise:
// about 200 bytes each, so a couple of MiB at most.
const DefaultMaxClients = 10000

// rateLimiter keeps one token bucket per client in an LRU list. A bucket
// idle long enough to have refilled is forgotten, which loses nothing; when
// the list is full the least recently used bucket is dropped even so, which
// only ever favours that client.
type rateLimiter struct {
	limits RateLimits
	mu     sync.Mutex
	lru    *list.List // of *bucket, most recently used first
	byKey  map[string]*list.Element
	// live holds the session token hashes found live lately, each until
	// when: a request naming one spends from its session's bucket without
	// reading the session first. It only picks a budget; whether the
	// session may act is checked where it acts.
	live map[string]time.Time
}

// sessionLiveFor is how long a session found live picks its own budget
// without being read again.
const sessionLiveFor = time.Minute

type bucket struct {
	key    string
	budget *Budget
	tokens float64
	last   time.Time
	// authenticated marks an API key's bucket once the key was accepted:
	// only then do its requests spend from it.
	authenticated bool
}

func newRateLimiter(l RateLimits) *rateLimiter {
	if l.MaxClients <= 0 {
		l.MaxClients = DefaultMaxClients
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return &rateLimiter{limits: l, lru: list.New(), byKey: map[string]*list.Element{}, live: map[string]time.Time{}}
}

// fullAfter is how long a bucket takes to refill from empty.
func (b *Budget) fullAfter() time.Duration {
	return time.Duration(float64(b.Burst) / b.Rate * float64(time.Second))
}

// take spends a token of key's bucket. When there is none it returns false
// and how long until there will be one.
func (l *rateLimiter) take(key string, budget *Budget) (bool, time.Duration) {
	ok, wait, _ := l.takeLeft(key, budget)
	return ok, wait
}

// takeLeft is take, also saying how many tokens are left after it.
func (l *rateLimiter) takeLeft(key string, budget *Budget) (bool, time.Duration, float64) {
	now := l.limits.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetIdle(now)
	var b *bucket
	if el, ok := l.byKey[key]; ok {
		b = el.Value.(*bucket)
		l.lru.MoveToFront(el)
		if elapsed := now.Sub(b.last); elapsed > 0 {
			b.tokens = math.Min(float64(budget.Burst), b.tokens+elapsed.Seconds()*budget.Rate)
		}
		b.last = now
	} else {
		if l.lru.Len() >= l.limits.MaxClients {
			l.drop(l.lru.Back())
		}
		b = &bucket{key: key, budget: budget, tokens: float64(budget.Burst), last: now}
		l.byKey[key] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, b.tokens
	}
	return false, time.Duration((1 - b.tokens) / budget.Rate * float64(time.Second)), b.tokens
}

// setRateLimitHeaders tells a client its budget on every answer, before it
// runs out (draft-ietf-httpapi-ratelimit-headers): the burst, what is left
// of it, and the seconds until it is full again. It returns the same for
// the GraphQL answer (extensions.cost, partner.rateLimit).
func setRateLimitHeaders(h http.Header, budget *Budget, left float64, now time.Time) graph.RateLimit {
	full := int(max(math.Ceil((float64(budget.Burst)-left)/budget.Rate), 0))
	remaining := int(math.Floor(max(left, 0)))
	// What h.Set("RateLimit-Limit", …) and so on store, with the keys
	// already in canonical form (Set would make each anew) and the values
	// in one allocation, each capped so that an append cannot reach the
	// next: this runs on every limited request.
	v := []string{strconv.Itoa(budget.Burst), strconv.Itoa(remaining), strconv.Itoa(full)}
	h["Ratelimit-Limit"] = v[0:1:1]
	h["Ratelimit-Remaining"] = v[1:2:2]
	h["Ratelimit-Reset"] = v[2:3:3]
	return graph.RateLimit{Limit: budget.Burst, Remaining: remaining, ResetAt: now.Add(time.Duration(full) * time.Second).Truncate(time.Second)}
}

// forgetIdle drops, from the least recently used end, buckets that have
// refilled: a new bucket starts full, so nobody notices.
func (l *rateLimiter) forgetIdle(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		b := el.Value.(*bucket)
		if now.Sub(b.last) < b.budget.fullAfter() {
			return
		}
		l.drop(el)
	}
}

func (l *rateLimiter) drop(el *list.Element) {
	l.lru.Remove(el)
	delete(l.byKey, el.Value.(*bucket).key)
}

func (l *rateLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// authenticated tells whether key names the bucket of an API key that was
// accepted and has not failed since.
func (l *rateLimiter) authenticated(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.byKey[key]
	return ok && el.Value.(*bucket).authenticated
}

// keyChecked records whether the API key whose bucket is key was accepted.
// An accepted key gets (or keeps) its bucket, full when new: its request
// was charged to the client address. A refused one loses it, so that its
// next requests spend from the address again.
func (l *rateLimiter) keyChecked(key string, budget *Budget, ok bool) {
	now := l.limits.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	el, found := l.byKey[key]
	switch {
	case !ok && found:
		l.drop(el)
	case ok && found:
		el.Value.(*bucket).authenticated = true
	case ok:
		l.forgetIdle(now)
		if l.lru.Len() >= l.limits.MaxClients {
			l.drop(l.lru.Back())
		}
		l.byKey[key] = l.lru.PushFront(&bucket{key: key, budget: budget, tokens: float64(budget.Burst), last: now, authenticated: true})
	}
}

// recentlyLive tells whether the session whose token hashes to hash was
// found live within sessionLiveFor.
func (l *rateLimiter) recentlyLive(hash string) bool {
	now := l.limits.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return now.Before(l.live[hash])
}

// sessionChecked records whether a request found its session live. When
// the list is full, entries that lapsed go, and if none had, all do: that
// costs only a session read per request until the list fills again.
func (l *rateLimiter) sessionChecked(hash string, live bool) {
	now := l.limits.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !live {
		delete(l.live, hash)
		return
	}
	if _, ok := l.live[hash]; !ok && len(l.live) >= l.limits.MaxClients {
		for h, until := range l.live {
			if !now.Before(until) {
				delete(l.live, h)
			}
		}
		if len(l.live) >= l.limits.MaxClients {
			clear(l.live)
		}
	}
	l.live[hash] = now.Add(sessionLiveFor)
}

// keyCheckedKey carries to withAPIKeys the function that tells the
// limiter whether the request's key was accepted.
type keyCheckedKey struct{}

// reportKeyChecked tells the rate limiter, if any, whether the request's
// API key was accepted.
func reportKeyChecked(ctx context.Context, ok bool) {
	if f, _ := ctx.Value(keyCheckedKey{}).(func(bool)); f != nil {
		f(ok)
	}
}

// withRateLimit answers 429 with Retry-After to a client over its budget.
func (s *Server) withRateLimit(next http.Handler) http.Handler {
	if s.RateLimits.Key.Rate <= 0 && s.RateLimits.Learner.Rate <= 0 {
		return next
	}
	limiter := newRateLimiter(s.RateLimits)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, budget, who := s.rateKey(r, limiter.authenticated, limiter.recentlyLive)
		if ref := examgate.SessionRefFromContext(r.Context()); ref != nil {
			defer func() {
				// Found live by any part of the request, or read and ended.
				if ref.Verified() {
					limiter.sessionChecked(ref.TokenHash(), true)
				} else if ref.Ended() {
					limiter.sessionChecked(ref.TokenHash(), false)
				}
			}()
		}
		if token, ok := bearerToken(r); ok && s.RateLimits.Key.Rate > 0 {
			kb := keyBucket(token)
			r = r.WithContext(context.WithValue(r.Context(), keyCheckedKey{}, func(ok bool) {
				limiter.keyChecked(kb, &s.RateLimits.Key, ok)
			}))
		}
		if budget.Rate <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait, left := limiter.takeLeft(key, budget)
		rl := setRateLimitHeaders(w.Header(), budget, left, limiter.limits.Now())
		if ok {
			next.ServeHTTP(w, r.WithContext(graph.WithRateLimit(r.Context(), rl)))
			return
		}
		secs := max(1, int(math.Ceil(wait.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		msg := fmt.Sprintf("Too many requests: %s may send %s (bursts of %d). Try again in %d s.",
			who, perMinute(budget.Rate), budget.Burst, secs)
		type extensions struct {
			Code       string `json:"code"`
			RetryAfter int    `json:"retryAfter"`
		}
		type gqlError struct {
			Message    string     `json:"message"`
			Extensions extensions `json:"extensions"`
		}
		_ = json.NewEncoder(w).Encode(struct {
			Errors []gqlError `json:"errors"`
		}{[]gqlError{{msg, extensions{"RATE_LIMITED", secs}}}})
	})
}

// keyBucket names an API key's bucket by a hash, so that no key is kept in
// memory.
func keyBucket(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "k" + string(sum[:])
}

// rateKey tells whose bucket a request spends from: an authenticated API
// key's own, a session's, or else the client address's. A request with an
// Authorization header carries no session (withAPIKeys drops it), so one
// whose key is not known to be good spends from its address.
func (s *Server) rateKey(r *http.Request, authenticated, sessionLive func(string) bool) (key string, budget *Budget, who string) {
	if token, ok := bearerToken(r); ok && s.RateLimits.Key.Rate > 0 && authenticated(keyBucket(token)) {
		return keyBucket(token), &s.RateLimits.Key, "an API key"
	} else if ok && s.RateLimits.Key.Rate <= 0 {
		return "", &s.RateLimits.Key, "an API key" // keys are not limited
	}
	hasAuth := r.Header.Get("Authorization") != ""
	// A session spends from its own bucket once found live; until then (or
	// when it has ended) from its address's, like a request without one.
	// Nothing is read here: a cookie not seen live lately is charged to its
	// address before any database read, so that a flood of made-up cookies
	// costs no more than the address's budget of reads. The request itself
	// reads the session, and sessionChecked remembers it live.
	if ref := examgate.SessionRefFromContext(r.Context()); ref != nil && !hasAuth && sessionLive(ref.TokenHash()) {
		return "s" + ref.TokenHash(), &s.RateLimits.Learner, "a session"
	}
	// Not X-Forwarded-For: a client could name any address there. Behind a
	// proxy every anonymous request shares the proxy's budget, which only
	// affects requests that can read nothing but public fields.
	host := addressKey(r)
	if hasAuth {
		return "a" + host, &s.RateLimits.Learner, "a client whose API key is not accepted (yet)"
	}
	return "a" + host, &s.RateLimits.Learner, "a client without a session"
}

// addressKey is the client address a budget is kept for: the peer's IP,
// or for IPv6 its /64, since one client commonly has a whole /64 to pick
// addresses from.
func addressKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && !ip.Is4In6() {
		p, _ := ip.WithZone("").Prefix(64)
		host = p.String()
	}
	return host
}

// DefaultLTILoginBudget is RateLimits.LTILogin when it is zero: a class
// behind one address can launch together, while a flood of made-up login
// initiations (each stores a pending login) is cut off.
var DefaultLTILoginBudget = Budget{Rate: 2, Burst: 60}

// withLoginBudget spends the client address's LTI login budget, and
// answers a frameable page with Retry-After when it is spent.
func (s *Server) withLoginBudget(next http.HandlerFunc) http.HandlerFunc {
	budget := s.RateLimits.LTILogin
	if budget.Rate <= 0 {
		budget = DefaultLTILoginBudget
	}
	limiter := newRateLimiter(RateLimits{MaxClients: s.RateLimits.MaxClients, Now: s.RateLimits.Now})
	return func(w http.ResponseWriter, r *http.Request) {
		ok, wait := limiter.take(addressKey(r), &budget)
		if ok {
			next(w, r)
			return
		}
		secs := max(1, int(math.Ceil(wait.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.ltiError(w, r, examgate.Errorf(examgate.ERATELIMITED, "Too many exam sign-ins came from your network just now. Wait %d seconds, then open the exam again from your course.", secs))
	}
}

// bearerToken returns the API key of an Authorization: Bearer header, as
// every part of the server reads it: the scheme in any case, then the key
// with the spaces around it trimmed. A key with whitespace inside is not
// one (keys have none), so it cannot be made to look like a different
// key by spacing.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.IndexFunc(token, unicode.IsSpace) >= 0 {
		return "", false
	}
	return token, true
}

func perMinute(rate float64) string {
	if n := rate * 60; n >= 1 {
		return fmt.Sprintf("%.0f requests a minute", n)
	}
	return fmt.Sprintf("a request every %.0f s", 1/rate)
}
