package graph

import (
	"context"
	"net/http"
	"sync"

	"github.com/examgate/examgate"
)

// loader batches the loads of one kind of record within one request.
//
// Instead of waiting a few milliseconds for keys to gather (which makes the
// number of statements depend on scheduling), a list resolver announces the
// keys its children will ask for (want), and the first load of any key
// fetches all announced keys in one statement. Loads of the same loader
// wait for that fetch on the mutex and then find their key cached, so a page
// of 100 bookings costs one statement per loader, always.
type loader[K comparable, V any] struct {
	mu      sync.Mutex
	fetch   func(context.Context, []K) (map[K]V, error)
	then    func(map[K]V) // announces keys to the loaders of child fields; runs under mu
	wanted  []K
	fetched map[K]V
	done    map[K]bool
}

func newLoader[K comparable, V any](fetch func(context.Context, []K) (map[K]V, error)) *loader[K, V] {
	return &loader[K, V]{fetch: fetch, fetched: map[K]V{}, done: map[K]bool{}}
}

// want announces keys that are likely to be loaded soon.
func (l *loader[K, V]) want(keys ...K) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if !l.done[k] {
			l.wanted = append(l.wanted, k)
		}
	}
}

// load returns the value of k, and false when there is none.
func (l *loader[K, V]) load(ctx context.Context, k K) (V, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done[k] {
		batch := []K{k}
		seen := map[K]bool{k: true}
		for _, w := range l.wanted {
			if !l.done[w] && !seen[w] {
				seen[w] = true
				batch = append(batch, w)
			}
		}
		got, err := l.fetch(ctx, batch)
		if err != nil {
			var zero V
			return zero, false, err
		}
		l.wanted = l.wanted[:0]
		for _, b := range batch {
			l.done[b] = true
			if v, ok := got[b]; ok {
				l.fetched[b] = v
			}
		}
		if l.then != nil {
			l.then(got)
		}
	}
	v, ok := l.fetched[k]
	return v, ok, nil
}

// loaders are the batched loaders of one request. Announcements flow one
// way (candidates → their bookings and attempts → attempts → results →
// delivery states), so the nested locks taken by then callbacks cannot
// deadlock.
type loaders struct {
	candidates       *loader[int64, *examgate.Candidate]
	attemptByBooking *loader[int64, *examgate.Attempt]
	resultByAttempt  *loader[int64, *examgate.Result]
	delivery         *loader[int64, string]
	bookingsOfCand   *loader[int64, []*examgate.Booking]
	attemptsOfCand   *loader[int64, []*examgate.Attempt]
}

func newLoaders(s examgate.PartnerStore) *loaders {
	l := &loaders{
		candidates:       newLoader(s.CandidatesByID),
		attemptByBooking: newLoader(s.AttemptsByBooking),
		resultByAttempt:  newLoader(s.ResultsByAttempt),
		delivery:         newLoader(s.DeliveryStates),
		bookingsOfCand: newLoader(func(ctx context.Context, ids []int64) (map[int64][]*examgate.Booking, error) {
			return s.BookingsOfCandidates(ctx, ids, examgate.PartnerListMax)
		}),
		attemptsOfCand: newLoader(func(ctx context.Context, ids []int64) (map[int64][]*examgate.Attempt, error) {
			return s.AttemptsOfCandidates(ctx, ids, examgate.PartnerListMax)
		}),
	}
	// A candidate's bookings, attempts and results load for every candidate
	// of the batch at once.
	l.candidates.then = func(m map[int64]*examgate.Candidate) {
		for id := range m {
			l.bookingsOfCand.want(id)
			l.attemptsOfCand.want(id)
		}
	}
	l.attemptByBooking.then = func(m map[int64]*examgate.Attempt) {
		for _, a := range m {
			l.resultByAttempt.want(a.ID)
		}
	}
	l.resultByAttempt.then = func(m map[int64]*examgate.Result) {
		for _, r := range m {
			l.delivery.want(r.ID)
		}
	}
	l.bookingsOfCand.then = func(m map[int64][]*examgate.Booking) {
		for _, list := range m {
			for _, b := range list {
				l.attemptByBooking.want(b.ID)
			}
		}
	}
	l.attemptsOfCand.then = func(m map[int64][]*examgate.Attempt) {
		for _, list := range m {
			for _, a := range list {
				l.resultByAttempt.want(a.ID)
			}
		}
	}
	return l
}

type loadersKey struct{}

// requestLoaders are a request's loaders, made when a resolver first asks:
// only partner queries use them, and making them is a fifth of the
// allocations of a learner's request.
type requestLoaders struct {
	once    sync.Once
	store   examgate.PartnerStore
	loaders *loaders
}

// WithLoaders gives every request its own loaders, so that nothing is
// cached across requests: a revoked key or a changed booking is seen at once.
func (r *Resolver) WithLoaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.Partners != nil {
			req = req.WithContext(context.WithValue(req.Context(), loadersKey{}, &requestLoaders{store: r.Partners}))
		}
		next.ServeHTTP(w, req)
	})
}

// loadersOf returns the request's loaders; without WithLoaders (a handler
// built without it) each call gets fresh ones: correct, only not batched.
func (r *Resolver) loadersOf(ctx context.Context) (*loaders, error) {
	if l, ok := ctx.Value(loadersKey{}).(*requestLoaders); ok {
		l.once.Do(func() { l.loaders = newLoaders(l.store) })
		return l.loaders, nil
	}
	if r.Partners == nil {
		return nil, examgate.Errorf(examgate.EUNAVAILABLE, "The partner API is not available on this server.")
	}
	return newLoaders(r.Partners), nil
}

// prime stores a value already at hand, and announces what its child
// fields will ask for as a fetch would.
func (l *loader[K, V]) prime(k K, v V) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fetched[k], l.done[k] = v, true
	if l.then != nil {
		l.then(map[K]V{k: v})
	}
}
