package examgate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// WebhookTimeout bounds one delivery attempt, connection included.
const WebhookTimeout = 10 * time.Second

// maxRetryAfter caps a receiver's Retry-After: the job's three-day deadline
// still applies, but one answer should not park a delivery for days.
const maxRetryAfter = 6 * time.Hour

// WebhookSender posts signed events. Unless AllowPrivate is set it refuses
// endpoints on loopback, private, link-local and other non-public addresses,
// both when an endpoint is added and on every connection (so that a DNS
// name re-pointed at an internal address after registration is refused
// too): a webhook URL must not become a way to reach our own network.
type WebhookSender struct {
	AllowPrivate bool
	// Resolver looks up hosts when an endpoint is added; nil is the default.
	Resolver *net.Resolver
	client   *http.Client
}

// NewWebhookSender returns a sender with its own HTTP client: no proxy (it
// would connect on our behalf and bypass the address check), no redirects,
// a timeout per attempt.
func NewWebhookSender(allowPrivate bool) *WebhookSender {
	s := &WebhookSender{AllowPrivate: allowPrivate}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: s.control}
	s.client = &http.Client{
		Timeout: WebhookTimeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: WebhookTimeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       60 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		// A redirect is answered as it is: following it would send the
		// signed event somewhere nobody registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// WrapTransport wraps the sender's transport, to count and time its
// requests; the address checks stay in the wrapped transport.
func (s *WebhookSender) WrapTransport(wrap func(http.RoundTripper) http.RoundTripper) {
	s.client.Transport = wrap(s.client.Transport)
}

// control runs before each connection, with the address actually dialled.
func (s *WebhookSender) control(_, address string, _ syscall.RawConn) error {
	if s.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: unexpected address %q", address)
	}
	if !publicAddr(ap.Addr()) {
		return fmt.Errorf("webhook: refused to connect to non-public address %s (set EXAMGATE_WEBHOOK_ALLOW_PRIVATE=1 only for tests and demos)", ap.Addr())
	}
	return nil
}

// nonPublic are ranges netip's predicates do not cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 can reach any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"), // documentation
	// Transition ranges that embed an IPv4 address a relay or the host
	// itself may route to, so they can reach private IPv4 networks.
	netip.MustParsePrefix("::/96"),     // IPv4-compatible (deprecated)
	netip.MustParsePrefix("2002::/16"), // 6to4
	netip.MustParsePrefix("2001::/32"), // Teredo
	netip.MustParsePrefix("fec0::/10"), // site-local (deprecated, still private)
	netip.MustParsePrefix("100::/64"),  // discard-only
}

func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// CheckURL validates an endpoint URL and returns it normalised: https (http
// only to a loopback host, with AllowPrivate), no credentials, no fragment,
// a host that resolves only to public addresses unless AllowPrivate.
func (s *WebhookSender) CheckURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > MaxWebhookURLLen {
		return "", Errorf(EINVALID, "Give the endpoint's URL, https://… and at most %d characters.", MaxWebhookURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", Errorf(EINVALID, "%q is not an absolute URL such as https://partner.example.com/examgate/events.", truncateForMessage(raw))
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.AllowPrivate && isLoopbackHost(host):
	default:
		return "", Errorf(EINVALID, "The endpoint must use https:// (plain http is allowed only to localhost, with EXAMGATE_WEBHOOK_ALLOW_PRIVATE=1).")
	}
	if u.User != nil {
		return "", Errorf(EINVALID, "Put no user name or password in the URL: deliveries are authenticated by their signature.")
	}
	if u.Fragment != "" {
		return "", Errorf(EINVALID, "Remove the #fragment from the URL.")
	}
	if !s.AllowPrivate {
		if err := s.checkHost(ctx, host); err != nil {
			return "", err
		}
	}
	return u.String(), nil
}

func (s *WebhookSender) checkHost(ctx context.Context, host string) error {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		r := s.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = r.LookupNetIP(ctx, "ip", host); err != nil || len(addrs) == 0 {
			return Errorf(EINVALID, "Could not resolve %s; check the host name and try again.", truncateForMessage(host))
		}
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return Errorf(EINVALID, "%s resolves to %s, which is not a public address: webhooks go only to the internet (EXAMGATE_WEBHOOK_ALLOW_PRIVATE=1 lifts this for tests and demos).", truncateForMessage(host), a)
		}
	}
	return nil
}

// WebhookOutcome is the result of one delivery attempt.
type WebhookOutcome struct {
	Status     int           // 0 when no response arrived
	Err        error         // nil on 2xx
	RetryAfter time.Duration // the receiver's Retry-After, if any
	Latency    time.Duration // from sending to the answer's headers, or the failure
	Response   string        // the start of the answer's body (MaxWebhookResponseKept bytes)
}

// MaxWebhookResponseKept is how much of a receiver's answer the delivery
// log keeps.
const MaxWebhookResponseKept = 1024

func (o WebhookOutcome) errText() string {
	if o.Err == nil {
		return ""
	}
	return o.Err.Error()
}

// maxResponseRead bounds what is read of a receiver's answer: enough to
// reuse the connection and to quote the start of an error.
const maxResponseRead = 64 << 10

// Send makes one POST of body to url, signed at now with each of secrets.
func (s *WebhookSender) Send(ctx context.Context, endpoint string, secrets []string, eventID string, body []byte, now time.Time) WebhookOutcome {
	ctx, cancel := context.WithTimeout(ctx, WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return WebhookOutcome{Err: errors.New(scrubURL(fmt.Errorf("bad endpoint URL: %v", err), endpoint))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "examgate-webhooks/1")
	req.Header.Set("X-Examgate-Event-Id", eventID)
	req.Header.Set("X-Examgate-Signature", SignWebhook(secrets[0], now, body, secrets[1:]...))
	start := time.Now()
	resp, err := s.client.Do(req)
	latency := time.Since(start)
	if err != nil {
		return WebhookOutcome{Err: errors.New(scrubURL(err, endpoint)), Latency: latency}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, MaxWebhookResponseKept))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	// Kept as text: valid UTF-8, without the NUL bytes PostgreSQL's text refuses.
	kept := strings.ReplaceAll(strings.ToValidUTF8(string(head), "\uFFFD"), "\x00", "")
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return WebhookOutcome{Status: resp.StatusCode, Latency: latency, Response: kept}
	}
	msg := fmt.Sprintf("endpoint answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " (redirects are not followed: register the final URL)"
	}
	if snippet := printable(head, 200); snippet != "" {
		msg += ": " + snippet
	}
	return WebhookOutcome{Status: resp.StatusCode, Err: errors.New(msg), RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now), Latency: latency, Response: kept}
}

// scrubURL keeps only the endpoint's scheme and host in stored errors and
// logs: its path and query may hold a partner's token (Slack-style URLs
// carry one in the path).
func scrubURL(err error, endpoint string) string {
	msg := err.Error()
	u, perr := url.Parse(endpoint)
	if perr != nil || u.Host == "" {
		return strings.ReplaceAll(msg, endpoint, "the endpoint URL")
	}
	short := u.Scheme + "://" + u.Host
	// The client quotes the URL as it sent it, which may differ from the
	// registered text (escaping, a redacted password), so replace each form.
	for _, form := range []string{endpoint, u.String(), u.Redacted()} {
		if form == short {
			continue
		}
		msg = strings.ReplaceAll(msg, strconv.Quote(form), strconv.Quote(short+"/…"))
		msg = strings.ReplaceAll(msg, form, short+"/…")
	}
	return msg
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// printable returns the start of b as one line of valid text, without
// control characters (a NUL byte would not even be stored).
func printable(b []byte, n int) string {
	s := strings.Map(func(r rune) rune {
		if r < ' ' && !unicode.IsSpace(r) || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(string(b), ""))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}
