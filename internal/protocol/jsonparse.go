package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// parseJSON parses data into generic values: map[string]any, []any, string,
// bool, nil and json.Number (so numbers keep their exact text).
//
// It is stricter than json.Unmarshal in two ways that matter for a security
// decision. Duplicate object keys are rejected, including keys that differ
// only in case: encoding/json matches struct fields case-insensitively and
// keeps the last duplicate, so {"amount":"1","AMOUNT":"9"} could otherwise
// mean one thing to a rule reading the generic map and another to code
// reading the typed struct. And nesting is limited to maxDepth.
//
// Otherwise it accepts exactly the JSON encoding/json accepts (RFC 8259)
// and yields the values encoding/json's Decoder with UseNumber would: a
// string's invalid UTF-8 bytes and unpaired surrogate escapes become
// U+FFFD, as encoding/json replaces them. It is written here rather than on
// json.Decoder.Token because a full v2 KEYSIGN holds hundreds of values and
// Token allocates several times per value; this reader is one pass over
// the text, and a string without escapes is a substring of it.
func parseJSON(data []byte) (any, error) {
	return parseJSONString(string(data))
}

// ParseJSON is the strict reader request payloads are parsed with, for
// JSON that arrives inside a request as text (EIP-712
// raw_structured_data): duplicate keys, also by case, are refused, nesting
// is bounded, and numbers are json.Number.
func ParseJSON(data []byte) (any, error) {
	return parseJSONString(string(data))
}

// parseJSONString is parseJSON over text already held as a string (the
// JSON that request_detail and extra_info embed), without copying it.
func parseJSONString(s string) (any, error) {
	return newJSONParser(len(s)).parse(s)
}

// newJSONParser returns a parser for a text of about size bytes (its
// first): the stacks are sized for it, up to what a full request needs,
// so that reading a KEYSIGN allocates them once and a PING stays small.
func newJSONParser(size int) *jsonParser {
	return &jsonParser{
		members: make([]member, 0, min(32, 4+size/32)),
		elems:   make([]any, 0, min(16, size/64)), // none for a PING
	}
}

// parse reads s, one JSON text, as parseJSON does. A parser may parse
// one text after another (Decode reads package_data and the JSON it
// embeds with one), reusing its stacks; each parse starts afresh.
func (p *jsonParser) parse(s string) (any, error) {
	p.s, p.pos = s, 0
	p.members, p.elems = p.members[:0], p.elems[:0]
	p.reserved = false
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// jsonParser reads one JSON text; pos is the next byte to read.
type jsonParser struct {
	s       string
	pos     int
	members []member // members of the objects being read, innermost last
	elems   []any    // elements of the arrays being read, innermost last
	// text holds the strings strSlow decodes, one after another: each is
	// a substring of text.String(). A Builder only ever appends, so
	// bytes it has handed out never change; strings from all the texts a
	// parser reads share its allocations.
	text strings.Builder
	// reserved records that text was sized for the rest of the current
	// text (s) once already, so that input outgrowing that reserve (see
	// strSlow) is not given a new one again for each string.
	reserved bool
}

// member is one name/value pair of an object being read; ascii records
// that the key is all ASCII, which the duplicate check uses.
type member struct {
	key   string
	value any
	ascii bool
}

// plainByte marks the bytes that stand for themselves inside a JSON
// string: printable ASCII but the quote and the backslash. One table
// load per byte is what the string scans cost.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// foldScanKeys is how many keys of one object are compared pairwise for
// duplicates (strings.EqualFold, no allocation) before a map of folded
// keys takes over, so a hostile object with many members stays linear.
const foldScanKeys = 24

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// errorAt describes the byte at pos, or the end of the input.
func (p *jsonParser) errorAt(context string) error {
	if p.pos >= len(p.s) {
		return io.ErrUnexpectedEOF
	}
	return fmt.Errorf("invalid character %q %s (offset %d)", p.s[p.pos], context, p.pos)
}

// value reads the value at pos, which is not white space; depth is the
// number of objects and arrays around it.
func (p *jsonParser) value(depth int) (any, error) {
	if p.pos >= len(p.s) {
		return nil, io.ErrUnexpectedEOF
	}
	switch c := p.s[p.pos]; {
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return nil, fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
		}
		if c == '{' {
			return p.object(depth)
		}
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.errorAt("looking for beginning of value")
}

func (p *jsonParser) literal(word string) error {
	if !strings.HasPrefix(p.s[p.pos:], word) {
		if len(p.s)-p.pos < len(word) && strings.HasPrefix(word, p.s[p.pos:]) {
			return io.ErrUnexpectedEOF
		}
		return fmt.Errorf("invalid literal at offset %d, want %s", p.pos, word)
	}
	p.pos += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (any, error) {
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
		return map[string]any{}, nil
	}
	// Members are gathered on the parser's stack (shared by every object
	// being read, each using the part above base) and the map is made once
	// at its final size: growing a map member by member rehashes it.
	base := len(p.members)
	defer func() { p.members = p.members[:base] }()
	var folded map[string]bool // once the object has foldScanKeys keys
	for {
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			return nil, p.errorAt("looking for beginning of object key string")
		}
		key, ascii, err := p.key()
		if err != nil {
			return nil, err
		}
		// Duplicates, also by case: the first foldScanKeys keys are
		// compared pairwise, later ones through a map of folded keys.
		// Two ASCII keys of different lengths cannot fold together (each
		// of their runes is one byte), so only other pairs need
		// strings.EqualFold.
		switch n := len(p.members) - base; {
		case folded != nil:
			f := foldKey(key)
			if folded[f] {
				return nil, &duplicateKeyError{key: key}
			}
			folded[f] = true
		default:
			for _, m := range p.members[base:] {
				if ascii && m.ascii && len(m.key) != len(key) {
					continue
				}
				if strings.EqualFold(m.key, key) {
					return nil, &duplicateKeyError{key: key}
				}
			}
			if n == foldScanKeys {
				folded = make(map[string]bool, 2*foldScanKeys)
				for _, m := range p.members[base:] {
					folded[foldKey(m.key)] = true
				}
				folded[foldKey(key)] = true
			}
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return nil, p.errorAt("after object key")
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.members = append(p.members, member{key, v, ascii})
		if done, err := p.next('}', "after object key:value pair"); err != nil {
			return nil, err
		} else if done {
			obj := make(map[string]any, len(p.members)-base)
			for _, m := range p.members[base:] {
				obj[m.key] = m.value
			}
			return obj, nil
		}
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == ']' {
		p.pos++
		return emptyArray, nil
	}
	// As with objects: elements go on the parser's stack, and the slice
	// is made once at its length.
	base := len(p.elems)
	defer func() { p.elems = p.elems[:base] }()
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.elems = append(p.elems, v)
		if done, err := p.next(']', "after array element"); err != nil {
			return nil, err
		} else if done {
			return slices.Clone(p.elems[base:]), nil
		}
	}
}

// emptyArray is every empty JSON array: []any{}, not nil, as encoding/json
// gives. One value serves all, since appending to an empty slice copies.
var emptyArray any = []any{}

// next reads what follows a member or element: a comma (more follow), or
// closer (done); anything else is an error naming where it stands.
func (p *jsonParser) next(closer byte, where string) (done bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return false, io.ErrUnexpectedEOF
	}
	switch p.s[p.pos] {
	case ',':
		p.pos++
		p.skipSpace()
		return false, nil
	case closer:
		p.pos++
		return true, nil
	}
	return false, p.errorAt(where)
}

// number reads a number by RFC 8259's grammar and keeps its text.
func (p *jsonParser) number() (any, error) {
	start := p.pos
	s := p.s
	i := p.pos
	if s[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		digits()
	default:
		p.pos = i
		return nil, p.errorAt("in numeric literal")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			p.pos = i
			return nil, p.errorAt("after decimal point in numeric literal")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			p.pos = i
			return nil, p.errorAt("in exponent of numeric literal")
		}
	}
	p.pos = i
	return json.Number(s[start:i]), nil
}

// str reads a string at pos (a '"'). Without escapes and invalid UTF-8 it
// is a substring of the input; otherwise it is decoded as encoding/json
// decodes it.
func (p *jsonParser) str() (string, error) {
	v, _, err := p.key()
	return v, err
}

// key reads a string (an object key, or a value for str) and reports
// whether it is all ASCII (false only promises nothing: a string with
// escapes is not looked at).
func (p *jsonParser) key() (string, bool, error) {
	s := p.s
	start := p.pos + 1
	i := start
	for i < len(s) && plainByte[s[i]] {
		i++
	}
	if i < len(s) && s[i] == '"' {
		p.pos = i + 1
		return s[start:i], true, nil
	}
	k, err := p.strSlow(start, i)
	return k, false, err
}

// strSlow decodes the rest of a string from i on, start being its first
// byte: escapes, control characters (refused) and UTF-8 (invalid bytes
// become U+FFFD, one per byte, as utf8.DecodeRune reads them).
//
// The JSON that request_detail and extra_info embed arrives as such
// strings, thousands of bytes with an escape every few, so the runs
// between escapes are copied whole, into the parser's text buffer (see
// jsonParser.text) rather than a buffer per string.
func (p *jsonParser) strSlow(start, i int) (string, error) {
	s := p.s
	b := &p.text
	var own strings.Builder
	if room := b.Cap() - b.Len(); room < len(s)-start {
		// A string decodes to at most three bytes for each of its own
		// (an invalid byte becomes U+FFFD; escapes only shrink), and
		// what is left of a valid text bounds what its strings decode
		// to. So the buffer is sized for the rest of the text once per
		// text, and never needs to grow for a string it takes. Only
		// input whose invalid bytes outgrow that reserve comes here
		// again: each such string gets a buffer of its own, of exactly
		// its bound, unless the reserve still holds that; a new reserve
		// per string would pin the rest of the input again for each
		// (TestAttack10TextBufferAmplification).
		need := 3 * rawStringLen(s, start)
		switch {
		case !p.reserved:
			*b = strings.Builder{}
			b.Grow(max(len(s)-start, need))
			p.reserved = true
		case room < need:
			b = &own
			b.Grow(need)
		}
	}
	mark := b.Len()
	b.WriteString(s[start:i])
	for i < len(s) {
		// The run of bytes that stand for themselves.
		j := i
		for j < len(s) && plainByte[s[j]] {
			j++
		}
		b.WriteString(s[i:j])
		i = j
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return b.String()[mark:], nil
		case c < 0x20:
			p.pos = i
			return "", p.errorAt("in string literal")
		case c == '\\':
			if i+1 >= len(s) {
				return "", io.ErrUnexpectedEOF
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
				i += 2
			case 'b':
				b.WriteByte('\b')
				i += 2
			case 'f':
				b.WriteByte('\f')
				i += 2
			case 'n':
				b.WriteByte('\n')
				i += 2
			case 'r':
				b.WriteByte('\r')
				i += 2
			case 't':
				b.WriteByte('\t')
				i += 2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					if len(s)-(i+2) < 4 && allHex(s[i+2:]) {
						return "", io.ErrUnexpectedEOF
					}
					p.pos = i + 1
					return "", p.errorAt("in \\u hexadecimal character escape")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A pair decodes to one rune; anything else leaves
					// U+FFFD and reads what follows on its own.
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s, i+2); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								b.WriteRune(dec)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				b.WriteRune(r)
			default:
				p.pos = i + 1
				return "", p.errorAt("in string escape code")
			}
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
		}
	}
	return "", io.ErrUnexpectedEOF
}

// rawStringLen is the length of the JSON string whose contents start at
// s[start:] up to its closing quote (included), or what is left of s when
// it has none.
func rawStringLen(s string, start int) int {
	for i := start; ; {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return len(s) - start
		}
		i += j
		// The quote closes the string unless an odd number of
		// backslashes escapes it.
		k := i
		for k > start && s[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			return i + 1 - start
		}
		i++
	}
}

// hex4 reads four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if len(s)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
