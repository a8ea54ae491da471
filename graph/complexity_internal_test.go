package graph

import (
	"math"
	"testing"
)

func TestListCostSaturates(t *testing.T) {
	for _, c := range []struct{ rows, child, want int }{
		{100, 28, 2801},
		{100, 0, 1},
		{100, math.MaxInt / 50, math.MaxInt},
		{100, math.MaxInt, math.MaxInt},
	} {
		if got := listCost(c.rows, c.child); got != c.want {
			t.Errorf("listCost(%d, %d) = %d, want %d", c.rows, c.child, got, c.want)
		}
	}
}
