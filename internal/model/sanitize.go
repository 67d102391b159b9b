package model

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameLen caps a dependency name taken from a page, in bytes: names end
// up on a terminal and in memory for every scrape.
const maxNameLen = 128

// cleanName makes a label value safe to show: invalid UTF-8 and control
// characters (which could drive the terminal) become U+FFFD, and long values
// are cut to at most maxNameLen bytes, at a character boundary.
func cleanName(s string) string {
	if len(s) > maxNameLen {
		s = s[:maxNameLen]
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError || unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > maxNameLen {
			break // a replacement is longer than the byte it stands for
		}
		b.WriteRune(r)
		s = s[size:]
	}
	return strings.TrimSpace(b.String())
}
