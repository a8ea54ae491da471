package ltitest

import (
	"context"
	"sync"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/lti"
)

// MemoryStore keeps registrations, pending logins and used nonces in memory,
// for tests of the protocol without a database.
type MemoryStore struct {
	mu     sync.Mutex
	regs   []lti.Registration
	logins map[string]lti.PendingLogin
	nonces map[string]time.Time
}

// AddRegistration registers a platform.
func (m *MemoryStore) AddRegistration(r lti.Registration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.regs = append(m.regs, r)
}

// Registration implements lti.Registrations.
func (m *MemoryStore) Registration(_ context.Context, issuer, clientID string) (*lti.Registration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.regs {
		if r.Issuer == issuer && r.ClientID == clientID {
			return &r, nil
		}
	}
	return nil, examgate.Errorf(examgate.ENOTFOUND, "no registration")
}

// RegistrationsByIssuer implements lti.Registrations.
func (m *MemoryStore) RegistrationsByIssuer(_ context.Context, issuer string) ([]*lti.Registration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*lti.Registration
	for _, r := range m.regs {
		if r.Issuer == issuer {
			out = append(out, &r)
		}
	}
	return out, nil
}

// SaveLogin implements lti.LaunchStore.
func (m *MemoryStore) SaveLogin(_ context.Context, l *lti.PendingLogin) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.logins == nil {
		m.logins = map[string]lti.PendingLogin{}
	}
	m.logins[l.StateHash] = *l
	return nil
}

// PeekLogin implements lti.LaunchStore.
func (m *MemoryStore) PeekLogin(_ context.Context, stateHash string, now time.Time) (*lti.PendingLogin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logins[stateHash]
	if !ok || !now.Before(l.ExpiresAt) {
		return nil, examgate.Errorf(examgate.ENOTFOUND, "no login")
	}
	return &l, nil
}

// TakeLogin implements lti.LaunchStore.
func (m *MemoryStore) TakeLogin(ctx context.Context, stateHash string, now time.Time) (*lti.PendingLogin, error) {
	l, err := m.PeekLogin(ctx, stateHash, now)
	m.mu.Lock()
	delete(m.logins, stateHash)
	m.mu.Unlock()
	return l, err
}

// UseNonce implements lti.LaunchStore.
func (m *MemoryStore) UseNonce(_ context.Context, issuer, nonce string, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nonces == nil {
		m.nonces = map[string]time.Time{}
	}
	k := issuer + " " + nonce
	if _, ok := m.nonces[k]; ok {
		return examgate.Errorf(examgate.ECONFLICT, "nonce used")
	}
	m.nonces[k] = expiresAt
	return nil
}
