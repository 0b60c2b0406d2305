package token

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// maxJSONDepth is how deeply arrays and objects may nest in a header or
// claims set, counting the top-level object: encoding/json's own limit, so a
// token golang-jwt parsed is not refused for its depth alone.
const maxJSONDepth = 10000

// jsonScanner reads one strict RFC 8259 JSON text from b: the full grammar,
// valid UTF-8 inside strings, nothing but whitespace after the value. It
// never allocates on the paths a TSS Node's tokens take (plain strings and
// numbers); a string with escapes is decoded by encoding/json, whose
// reading of escapes (including lone surrogates as U+FFFD) is the one the
// old parser had.
type jsonScanner struct {
	b []byte
	i int
	// checkFloats makes skipValue parse every number as a float64 and set
	// badFloat for one out of range, as decoding into an interface did.
	checkFloats bool
	badFloat    bool
}

// byte classes for the string scanner.
const (
	strPlain   = iota // an ASCII character that stands for itself
	strQuote          // '"', the end of the string
	strEscape         // '\\', an escape follows
	strControl        // below 0x20: must be escaped
	strHigh           // 0x80 and above: part of a UTF-8 sequence
)

var strClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c < 0x20:
			t[c] = strControl
		case c == '"':
			t[c] = strQuote
		case c == '\\':
			t[c] = strEscape
		case c >= 0x80:
			t[c] = strHigh
		}
	}
	return t
}()

// ws skips JSON whitespace (space, tab, LF, CR and nothing else).
func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end (0 never starts or continues
// valid JSON outside a string, so it reads as "unexpected").
func (s *jsonScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// end reports whether only whitespace is left.
func (s *jsonScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// str reads a string starting at the opening quote. It returns the bytes
// between the quotes (raw, escapes not decoded) and whether any escape
// occurs.
func (s *jsonScanner) str() (inner []byte, escaped, ok bool) {
	if s.peek() != '"' {
		return nil, false, false
	}
	start := s.i + 1
	i := start
	for i < len(s.b) {
		switch strClass[s.b[i]] {
		case strPlain:
			i++
		case strQuote:
			s.i = i + 1
			return s.b[start:i], escaped, true
		case strEscape:
			escaped = true
			if i+1 >= len(s.b) {
				return nil, false, false
			}
			switch s.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s.b) || !isHex(s.b[i+2]) || !isHex(s.b[i+3]) || !isHex(s.b[i+4]) || !isHex(s.b[i+5]) {
					return nil, false, false
				}
				i += 6
			default:
				return nil, false, false
			}
		case strControl:
			return nil, false, false
		case strHigh:
			r, size := utf8.DecodeRune(s.b[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false, false
			}
			i += size
		}
	}
	return nil, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unquote returns the string a scanned string literal means. inner must come
// from str; quoted is the literal with its quotes, needed only when escaped.
func unquote(inner []byte, escaped bool, quoted []byte) (string, bool) {
	if !escaped {
		return string(inner), true
	}
	var v string
	if json.Unmarshal(quoted, &v) != nil {
		return "", false
	}
	return v, true
}

// number reads a number (RFC 8259 section 6) and returns its literal.
func (s *jsonScanner) number() ([]byte, bool) {
	start := s.i
	i := s.i
	if i < len(s.b) && s.b[i] == '-' {
		i++
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case i < len(s.b) && '1' <= s.b[i] && s.b[i] <= '9':
		i = digits(s.b, i)
	default:
		return nil, false
	}
	if i < len(s.b) && s.b[i] == '.' {
		j := digits(s.b, i+1)
		if j == i+1 {
			return nil, false
		}
		i = j
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		j := digits(s.b, i)
		if j == i {
			return nil, false
		}
		i = j
	}
	s.i = i
	return s.b[start:i], true
}

// digits returns the index after the run of ASCII digits starting at i.
func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// literal reads true, false or null.
func (s *jsonScanner) literal() bool {
	for _, lit := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
			s.i += len(lit)
			return true
		}
	}
	return false
}

// skipValue reads one value of any type at the current position, which is
// at depth containers deep (1 for a member of the top-level object). Nested
// arrays and objects are walked with an explicit stack, not recursion, so a
// deeply nested value costs no goroutine stack.
func (s *jsonScanner) skipValue(depth int) bool {
	var stackBuf [64]byte
	stack := stackBuf[:0] // the open containers, '{' or '['
	for {
		// A value is expected here.
		s.ws()
		switch c := s.peek(); c {
		case '{', '[':
			if depth+len(stack)+1 > maxJSONDepth {
				return false
			}
			s.i++
			s.ws()
			if c == '{' && s.peek() == '}' || c == '[' && s.peek() == ']' {
				s.i++ // empty: a complete value, handled below
				break
			}
			stack = append(stack, c)
			if c == '{' && !s.memberName() {
				return false
			}
			continue
		case '"':
			if _, _, ok := s.str(); !ok {
				return false
			}
		case 't', 'f', 'n':
			if !s.literal() {
				return false
			}
		default:
			lit, ok := s.number()
			if !ok {
				return false
			}
			if s.checkFloats {
				if _, err := strconv.ParseFloat(string(lit), 64); err != nil {
					s.badFloat = true
				}
			}
		}
		// A value ended: close containers until one continues.
		if !s.closeContainers(&stack) {
			return false
		}
		if len(stack) == 0 {
			return true
		}
	}
}

// closeContainers follows a complete value inside the open containers of
// stack: it reads closing brackets (popping them) until a comma continues
// the innermost container (for an object, through the next member's name
// and colon) or no container is left open.
func (s *jsonScanner) closeContainers(stack *[]byte) bool {
	for len(*stack) > 0 {
		s.ws()
		top := (*stack)[len(*stack)-1]
		switch c := s.peek(); {
		case c == ',':
			s.i++
			return top != '{' || s.memberName()
		case top == '{' && c == '}', top == '[' && c == ']':
			s.i++
			*stack = (*stack)[:len(*stack)-1]
		default:
			return false
		}
	}
	return true
}

// memberName reads `"name" :` inside an object being skipped.
func (s *jsonScanner) memberName() bool {
	s.ws()
	if _, _, ok := s.str(); !ok {
		return false
	}
	s.ws()
	if s.peek() != ':' {
		return false
	}
	s.i++
	return true
}

// object reads the top-level object, calling member for each member with
// its decoded name; member reads the value (s is just past the colon and
// any whitespace) and returns false to refuse the text. Duplicate member
// names refuse the text: encoding/json silently kept the last, so a
// duplicate could make two readers see different claims.
func (s *jsonScanner) object(member func(name []byte) bool) bool {
	s.ws()
	if s.peek() != '{' {
		return false
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return s.end()
	}
	var names nameSet
	for {
		s.ws()
		start := s.i
		inner, escaped, ok := s.str()
		if !ok {
			return false
		}
		name := inner
		if escaped {
			v, ok := unquote(inner, true, s.b[start:s.i])
			if !ok {
				return false
			}
			name = []byte(v)
		}
		if !names.add(name) {
			return false
		}
		s.ws()
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.ws()
		if !member(name) {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return s.end()
		default:
			return false
		}
	}
}

// nameSet detects duplicate member names: a short inline list while there
// are few (a TSS Node sends three), a map beyond, so a claims set of many
// thousand members still costs linear time.
type nameSet struct {
	n    int
	list [nameListMax]string
	set  map[string]struct{}
}

const nameListMax = 16

// add records name and reports whether it was new.
func (n *nameSet) add(name []byte) bool {
	if n.set != nil {
		if _, dup := n.set[string(name)]; dup {
			return false
		}
		n.set[string(name)] = struct{}{}
		return true
	}
	for _, seen := range n.list[:n.n] {
		if seen == string(name) {
			return false
		}
	}
	if n.n < nameListMax {
		n.list[n.n] = internName(name)
		n.n++
		return true
	}
	n.set = make(map[string]struct{}, 4*nameListMax)
	for _, seen := range n.list {
		n.set[seen] = struct{}{}
	}
	n.set[string(name)] = struct{}{}
	return true
}

// internName returns name as a string, without allocating for the names
// TSS Nodes and Cobo's templates use.
func internName(name []byte) string {
	switch string(name) {
	case "alg":
		return "alg"
	case "typ":
		return "typ"
	case "kid":
		return "kid"
	case claimPackageData:
		return claimPackageData
	case "iss":
		return "iss"
	case "sub":
		return "sub"
	case "aud":
		return "aud"
	case "exp":
		return "exp"
	case "nbf":
		return "nbf"
	case "iat":
		return "iat"
	case "jti":
		return "jti"
	}
	return string(name)
}
