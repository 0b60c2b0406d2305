package protocol

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDepth bounds the nesting of any JSON this package parses. Real payloads
// nest about eight levels deep; the bound keeps a hostile input from costing
// deep recursion.
const maxDepth = 64

// duplicateKeyError reports a member name seen twice in one object (after
// folding), naming the second one.
type duplicateKeyError struct{ key string }

func (e *duplicateKeyError) Error() string {
	return fmt.Sprintf("duplicate key %s", strconv.QuoteToASCII(truncate(e.key, 40)))
}

// foldKey maps keys that encoding/json would treat as the same struct field
// (Unicode simple case folding, as in strings.EqualFold) to one string.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii { // the smallest rune of an ASCII letter's fold orbit is its upper case
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		lowest := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			lowest = min(lowest, f)
		}
		b.WriteRune(lowest)
	}
	return b.String()
}

// truncate shortens s to at most n bytes, cut on a rune boundary and
// marked, so that hostile values stay short in reasons and logs.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
