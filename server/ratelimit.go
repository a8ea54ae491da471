package server

import (
	"container/list"
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

	"github.com/examgate/examgate"
)

// RateLimits are the request budgets of /graphql, as token buckets: a
// client may send Burst requests at once and then Rate a second. A zero
// Rate turns that budget off.
type RateLimits struct {
	// Key is the budget of each API key (a request with
	// Authorization: Bearer), keyed by a hash of the header value, so that
	// a wrong or revoked key is limited too before anything looks it up.
	Key Budget
	// Learner is the budget of each learner session and, for requests with
	// neither a key nor a session, of each client IP address. The SPA's
	// autosave sends a request per answer, so this one is more generous.
	Learner Budget
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
}

type bucket struct {
	key    string
	budget *Budget
	tokens float64
	last   time.Time
}

func newRateLimiter(l RateLimits) *rateLimiter {
	if l.MaxClients <= 0 {
		l.MaxClients = DefaultMaxClients
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return &rateLimiter{limits: l, lru: list.New(), byKey: map[string]*list.Element{}}
}

// fullAfter is how long a bucket takes to refill from empty.
func (b *Budget) fullAfter() time.Duration {
	return time.Duration(float64(b.Burst) / b.Rate * float64(time.Second))
}

// take spends a token of key's bucket. When there is none it returns false
// and how long until there will be one.
func (l *rateLimiter) take(key string, budget *Budget) (bool, time.Duration) {
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
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / budget.Rate * float64(time.Second))
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

// withRateLimit answers 429 with Retry-After to a client over its budget.
func (s *Server) withRateLimit(next http.Handler) http.Handler {
	if s.RateLimits.Key.Rate <= 0 && s.RateLimits.Learner.Rate <= 0 {
		return next
	}
	limiter := newRateLimiter(s.RateLimits)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, budget, who := s.rateKey(r)
		if budget.Rate <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := limiter.take(key, budget)
		if ok {
			next.ServeHTTP(w, r)
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

// rateKey tells whose bucket a request spends from. The key's bucket is
// named by a hash so that no key is kept in memory.
func (s *Server) rateKey(r *http.Request) (key string, budget *Budget, who string) {
	if token, ok := bearerToken(r); ok {
		sum := sha256.Sum256([]byte(token))
		return "k" + string(sum[:]), &s.RateLimits.Key, "an API key"
	}
	if sess := examgate.SessionFromContext(r.Context()); sess != nil {
		return "s" + strconv.FormatInt(sess.ID, 10), &s.RateLimits.Learner, "a session"
	}
	// Not X-Forwarded-For: a client could name any address there. Behind a
	// proxy every anonymous request shares the proxy's budget, which only
	// affects requests that can read nothing but public fields.
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	// One IPv6 client commonly has a whole /64 to pick addresses from.
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && !ip.Is4In6() {
		p, _ := ip.WithZone("").Prefix(64)
		host = p.String()
	}
	return "a" + host, &s.RateLimits.Learner, "a client without a session"
}

// bearerToken returns the token of an Authorization: Bearer header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
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
