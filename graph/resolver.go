// Package graph is the GraphQL API: the schema, thin resolvers that call the
// domain, and the handler with its limits and error presenter.
package graph

//go:generate go tool gqlgen generate --config ../gqlgen.yml

import (
	"log/slog"

	"github.com/examgate/examgate"
)

// Resolver holds what the resolvers need; it is built once per server.
type Resolver struct {
	Store       examgate.Store
	Booker      *examgate.Bookings
	Attempts    *examgate.Attempts
	DeliveryLog *examgate.Deliveries
	Hooks       *examgate.Webhooks
	Catalog     *examgate.Catalog
	Clock       examgate.Clock
	Logger      *slog.Logger
	// Partners serves the partner API (graph/partner.graphqls).
	Partners examgate.PartnerStore
}
