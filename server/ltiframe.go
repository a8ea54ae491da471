package server

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/examgate/examgate/lti"
)

// ltiAncestorsTTL is how long the list of platform origins is reused: a
// platform registered by the command is frameable within a minute.
const ltiAncestorsTTL = time.Minute

// frameAncestors caches the CSP frame-ancestors source list of LTI pages.
type frameAncestors struct {
	mu      sync.Mutex
	value   string
	fetched time.Time
}

// registrationLister is what a store offers to list every platform.
type registrationLister interface {
	Registrations(ctx context.Context) ([]*lti.Registration, error)
}

// get returns 'self' and, for every registered platform, the origins of
// its issuer and authorization URL and the wildcard of their parent domain
// (https://*.instructure.com for canvas.instructure.com): platforms show
// the tool from course pages on their own host or a sibling one. When the
// platforms cannot be listed, only 'self' may frame the pages until the
// next try.
func (f *frameAncestors) get(ctx context.Context, regs lti.Registrations) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.value != "" && time.Since(f.fetched) < ltiAncestorsTTL {
		return f.value
	}
	sources := []string{"'self'"}
	if lister, ok := regs.(registrationLister); ok {
		list, err := lister.Registrations(ctx)
		if err != nil {
			return "'self'" // not cached: tried again on the next page
		}
		for _, r := range list {
			for _, raw := range []string{r.Issuer, r.AuthURL} {
				sources = append(sources, platformSources(raw)...)
			}
		}
	}
	slices.Sort(sources[1:])
	f.value = strings.Join(slices.Compact(sources), " ")
	f.fetched = time.Now()
	return f.value
}

// platformSources returns the origin of raw and the wildcard of its parent
// domain, when raw is an http(s) URL whose host has three labels or more.
func platformSources(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(u.Host, " ;,'\\\"") {
		return nil
	}
	out := []string{u.Scheme + "://" + u.Host}
	host := u.Hostname()
	if labels := strings.Split(host, "."); len(labels) >= 3 && !isIPHost(host) {
		parent := "*." + strings.Join(labels[1:], ".")
		if p := u.Port(); p != "" {
			parent += ":" + p
		}
		out = append(out, u.Scheme+"://"+parent)
	}
	return out
}

func isIPHost(h string) bool {
	return strings.Count(h, ".") == 3 && strings.Trim(h, "0123456789.") == ""
}
