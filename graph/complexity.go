package graph

import (
	"math"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/graph/model"
)

// complexity prices list fields at the rows they may return times what
// each row asks for, so that nesting lists (a page of bookings, each
// candidate's bookings, their candidate's bookings …) multiplies the cost
// as it multiplies the response. Other fields cost 1 plus their children
// (gqlgen's default).
func complexity() ComplexityRoot {
	var c ComplexityRoot
	c.Partner.Bookings = func(child int, _ *model.PartnerBookingFilter, first *int, _ *string) int {
		n := examgate.PartnerPageDefault
		if first != nil {
			// Out of range is refused when the field runs; priced as the
			// nearest valid page until then.
			n = min(max(*first, 1), examgate.PartnerPageMax)
		}
		return listCost(n, child)
	}
	candidateList := func(child int) int { return listCost(examgate.PartnerListMax, child) }
	c.PartnerCandidate.Bookings = candidateList
	c.PartnerCandidate.Attempts = candidateList
	c.PartnerCandidate.Results = candidateList
	return c
}

// listCost is 1 + rows×child, saturating instead of overflowing: a
// wrapped-around product could let a bomb through as a small number.
func listCost(rows, child int) int {
	if child > 0 && rows > (math.MaxInt-1)/child {
		return math.MaxInt
	}
	return 1 + rows*child
}
