package db_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/lti/ags"
)

type keyClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *keyClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *keyClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func kids(t *testing.T, keys *ags.Keys) []string {
	t.Helper()
	pub, err := keys.Public(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range pub {
		out = append(out, k.Kid)
	}
	return out
}

func TestLTIToolKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clock := &keyClock{t: jobT0}
		if list, err := store.LTIToolKeys(ctx, time.Time{}); err != nil || len(list) != 0 {
			t.Fatalf("new store has keys %v, %v", list, err)
		}

		// Two processes use the keys for the first time at once: one key.
		a, b := ags.NewKeys(store, clock), ags.NewKeys(store, clock)
		var wg sync.WaitGroup
		got := make([]ags.SigningKey, 2)
		for i, k := range []*ags.Keys{a, b} {
			wg.Go(func() {
				sk, err := k.Signing(ctx)
				if err != nil {
					t.Error(err)
				}
				got[i] = sk
			})
		}
		wg.Wait()
		if got[0].KID == "" || got[0].KID != got[1].KID {
			t.Fatalf("first use made keys %q and %q, want one", got[0].KID, got[1].KID)
		}
		first := got[0]
		if first.KID != ags.Thumbprint(&first.Key.PublicKey) || first.Key.N.BitLen() != ags.KeyBits {
			t.Fatalf("key %s: %d bits, kid is not its thumbprint", first.KID, first.Key.N.BitLen())
		}
		stored, err := store.LTIToolKeys(ctx, time.Time{})
		if err != nil || len(stored) != 1 || stored[0].RetiredAt != nil || !stored[0].CreatedAt.Equal(jobT0) {
			t.Fatalf("stored %v, %v", stored, err)
		}
		if added, err := store.AddFirstLTIToolKey(ctx, examgate.LTIToolKey{KID: "another", PrivateKeyPEM: "x", CreatedAt: jobT0}); err != nil || added {
			t.Fatalf("second first key: added %v, %v", added, err)
		}

		// Nothing prints the private key.
		k := stored[0]
		var logged strings.Builder
		slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "key", k)
		for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), logged.String()} {
			if strings.Contains(s, "PRIVATE") || strings.Contains(s, k.PrivateKeyPEM[40:80]) || !strings.Contains(s, k.KID) {
				t.Fatalf("printed key: %s", s)
			}
		}

		// Rotation: the new key signs, both are published, the new first.
		clock.Add(time.Hour)
		second, err := a.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []*ags.Keys{a, b} {
			if sk, err := k.Signing(ctx); err != nil || sk.KID != second {
				t.Fatalf("signing with %q after rotation, %v; want %q", sk.KID, err, second)
			}
			if got := kids(t, k); len(got) != 2 || got[0] != second || got[1] != first.KID {
				t.Fatalf("published %v during rotation", got)
			}
		}
		stored, _ = store.LTIToolKeys(ctx, time.Time{})
		if len(stored) != 2 || stored[1].RetiredAt == nil || !stored[1].RetiredAt.Equal(jobT0.Add(time.Hour)) {
			t.Fatalf("stored after rotation %v", stored)
		}

		// After the overlap only the active key is published; the next
		// rotation deletes the expired one.
		clock.Add(ags.DefaultOverlap)
		if got := kids(t, a); len(got) != 1 || got[0] != second {
			t.Fatalf("published %v after the overlap", got)
		}
		third, err := b.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stored, _ = store.LTIToolKeys(ctx, time.Time{})
		if len(stored) != 2 || stored[0].KID != third || stored[1].KID != second {
			t.Fatalf("stored after the second rotation %v; want the first key deleted", stored)
		}
	})
}
