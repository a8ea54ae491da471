package examgate

import (
	"math"
	"slices"
)

// passEpsilon absorbs float noise in the pass check, so that a percentage
// of exactly the pass mark passes however it was summed.
const passEpsilon = 1e-9

// Score scores an attempt from its answers (item id → chosen option ids).
//
// An item earns its points like this:
//   - single and true/false: all points iff exactly one known option is
//     chosen and it is the correct one;
//   - multiple, all-or-nothing (the default): all points iff the chosen
//     known options are exactly the correct ones;
//   - multiple with PartialCredit: points × max(0, (right − wrong) / number
//     of correct options), where right counts chosen correct options and
//     wrong chosen incorrect ones, so that choosing every option earns
//     nothing and each wrong choice cancels a right one.
//
// Option ids that are not options of the item are ignored for scoring but
// kept in ItemResult.Choices for review; an unanswered item scores 0.
// ItemResult.Correct means full points. Items are in the delivery's order.
func (d *Delivery) Score(answers map[string][]string) Score {
	s := Score{PassMark: d.PassMark, Items: []ItemResult{}}
	for _, sec := range d.sections() {
		for i := range sec.Items {
			r := scoreItem(&sec.Items[i], answers[sec.Items[i].ID], d.PartialCredit)
			s.Points += r.Points
			s.MaxPoints += r.MaxPoints
			s.Items = append(s.Items, r)
		}
	}
	if s.MaxPoints > 0 {
		// Multiplying first keeps whole percentages exact (7×100/10, not 0.7×100).
		s.Percent = math.Round(s.Points*100/s.MaxPoints*100) / 100
	}
	s.Passed = s.Percent >= s.PassMark-passEpsilon
	return s
}

func scoreItem(it *Item, choices []string, partial bool) ItemResult {
	r := ItemResult{ItemID: it.ID, MaxPoints: it.points(), Choices: slices.Compact(slices.Sorted(slices.Values(choices)))}
	if r.Choices == nil {
		r.Choices = []string{} // [] rather than null in the stored JSON
	}
	var right, wrong int
	for _, c := range r.Choices {
		switch {
		case slices.Contains(it.Correct, c):
			right++
		case slices.ContainsFunc(it.options(), func(o Option) bool { return o.ID == c }):
			wrong++
		}
	}
	var credit float64
	switch {
	case right == len(it.Correct) && wrong == 0:
		credit = 1 // also covers single and true/false: one correct id, nothing else
	case it.Type == ItemMultiple && partial:
		credit = max(0, float64(right-wrong)/float64(len(it.Correct)))
	}
	r.Points = r.MaxPoints * credit
	r.Correct = credit == 1
	return r
}

// ValidChoices checks an answer before it is saved: the candidate can only
// choose the item's options, each once, and one at most for a single or
// true/false item. No choice at all clears the answer and is valid.
func ValidChoices(item *Item, choices []string) error {
	opts := item.options()
	seen := map[string]bool{}
	for _, c := range choices {
		switch {
		case !slices.ContainsFunc(opts, func(o Option) bool { return o.ID == c }):
			return Errorf(EINVALID, "%q is not an option of question %s. Reload the page and answer again.", c, item.ID)
		case seen[c]:
			return Errorf(EINVALID, "Option %q is chosen twice for question %s. Choose each option once.", c, item.ID)
		}
		seen[c] = true
	}
	switch {
	case item.Type != ItemMultiple && len(choices) > 1:
		return Errorf(EINVALID, "Question %s takes one answer. Choose a single option.", item.ID)
	case len(choices) > len(opts):
		return Errorf(EINVALID, "Question %s has %d options; more cannot be chosen.", item.ID, len(opts))
	}
	return nil
}
