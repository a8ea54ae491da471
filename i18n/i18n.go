// Package i18n holds the sentences examgate writes to learners on the
// server (booking emails, the booking link page, error pages) in every
// language it ships, and chooses the language: the platform's launch
// locale when examgate has its language, else the browser's first
// language, else English. The SPA has catalogues of its own
// (frontend/src/i18n) and chooses the same way.
package i18n

import (
	"fmt"
	"strings"
	"time"
)

// Lang is a language examgate writes in.
type Lang string

const (
	English Lang = "en"
	Dutch   Lang = "nl"
)

// Langs are the languages with a catalogue, English first.
var Langs = []Lang{English, Dutch}

// Of returns the language of a locale tag ("nl-BE", "en_US", "NL") when
// examgate has it.
func Of(tag string) (Lang, bool) {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	primary, _, _ = strings.Cut(primary, "_")
	for _, l := range Langs {
		if string(l) == primary {
			return l, true
		}
	}
	return "", false
}

// Choose returns the language to write in: the launch locale's when
// examgate has it, else the first language of an Accept-Language header
// when examgate has it, else English.
func Choose(launchLocale, acceptLanguage string) Lang {
	if l, ok := Of(launchLocale); ok {
		return l
	}
	first, _, _ := strings.Cut(acceptLanguage, ",")
	first, _, _ = strings.Cut(first, ";")
	if l, ok := Of(first); ok {
		return l
	}
	return English
}

// T returns the sentence key in l with args filled in (fmt verbs), falling
// back to English for a key l lacks.
func (l Lang) T(key string, args ...any) string {
	text, ok := catalogues[l][key]
	if !ok {
		text, ok = catalogues[English][key]
	}
	if !ok {
		panic("i18n: no sentence " + key)
	}
	if len(args) == 0 {
		return text
	}
	return fmt.Sprintf(text, args...)
}

// N returns the singular (key.one) or plural (key.other) of key for n,
// with n as the first argument.
func (l Lang) N(key string, n int, args ...any) string {
	form := key + ".other"
	if n == 1 {
		form = key + ".one"
	}
	return l.T(form, append([]any{n}, args...)...)
}

// Date formats t with a Go layout, with the day and month names in l:
// "Mon 2 Jan 2006" gives "ma 2 jan 2006" in Dutch. The names go into the
// layout before formatting; none of them holds a layout element.
func (l Lang) Date(t time.Time, layout string) string {
	if n, ok := dateNames[l]; ok {
		layout = strings.NewReplacer(
			"Monday", n.days[t.Weekday()], "Mon", n.shortDays[t.Weekday()],
			"January", n.months[t.Month()-1], "Jan", n.shortMonths[t.Month()-1],
		).Replace(layout)
	}
	return t.Format(layout)
}

type names struct {
	days, shortDays     [7]string
	months, shortMonths [12]string
}

var dateNames = map[Lang]names{
	Dutch: {
		days:        [7]string{"zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"},
		shortDays:   [7]string{"zo", "ma", "di", "wo", "do", "vr", "za"},
		months:      [12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
		shortMonths: [12]string{"jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"},
	},
}
