package examgate

import (
	"bytes"
	"html"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdown renders item stems. Its defaults are what keeps exam content
// safe in the candidate's page: raw HTML is omitted and links or images
// with javascript:, vbscript:, file: or data: (other than images) URLs get
// an empty address. Do not add html.WithUnsafe. Tables and strikethrough
// are GitHub's, which authors expect.
var markdown = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

// RenderMarkdown returns src as safe HTML.
func RenderMarkdown(src string) string {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(src), &b); err != nil {
		// A bytes.Buffer does not fail; escaped text is still readable.
		return "<p>" + html.EscapeString(src) + "</p>"
	}
	return b.String()
}
