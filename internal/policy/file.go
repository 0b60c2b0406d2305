package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"tssgate/internal/btc"
	"tssgate/internal/regfile"
	"tssgate/internal/text"
	"tssgate/internal/txverify"
)

// maxFileSize bounds a policy, tests or list file. A list of 100,000
// addresses is about 4.5 MB; the bound only stops a wrong path (a disk
// image, /dev/zero) from being read into memory.
const maxFileSize = 64 << 20

// LoadError is what Load and Parse return for a policy they refuse. It
// holds every problem found, not just the first, so that `tssgate policy
// check` can list them all. Each Issue names the file and line; its
// Error() is one "file:line: ..." line per issue.
type LoadError struct {
	Issues []Issue
}

// Issue is one problem in a policy file or in a list file it loads.
type Issue struct {
	File string // the policy's name, or the list file's path
	Line int    // 1-based; 0 when no line applies (an unreadable file)
	Rule string // the rule the problem is in, if any
	List string // the list the problem is in, if any
	Msg  string // what is wrong, with the field name first ("when: ...")
}

// String formats the issue as `file:line: rule "x": msg`.
func (i Issue) String() string {
	var b strings.Builder
	b.WriteString(i.File)
	if i.Line > 0 {
		fmt.Fprintf(&b, ":%d", i.Line)
	}
	b.WriteString(": ")
	if i.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", i.Rule)
	}
	if i.List != "" {
		fmt.Fprintf(&b, "list %q: ", i.List)
	}
	b.WriteString(i.Msg)
	return b.String()
}

// Error lists every issue, one per line.
func (e *LoadError) Error() string {
	lines := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		lines[i] = is.String()
	}
	return strings.Join(lines, "\n")
}

// The values a policy file may use for default and action.
const (
	actionApprove = "approve"
	actionReject  = "reject"
)

// The values of a rule's mode. A live rule can decide; a shadow rule is
// evaluated on every request and its would-be outcome recorded in
// Decision.Shadow, but it never changes the decision.
const (
	ModeLive   = "live"
	ModeShadow = "shadow"
)

// RuleDefault is Decision.Rule when no live rule matched and the policy's
// default decided. No rule may be named this.
const RuleDefault = "default"

// fileSpec is a policy file after parsing and validation, before
// compilation.
type fileSpec struct {
	defaultAction string
	serial        uint64 // 0 when the file has no serial
	lists         []listSpec
	rules         []ruleSpec
	verify        verifySpec
	limits        []limitSpec
}

// Verification modes of the verify section.
const (
	verifyRequired = "required"
	verifyOptional = "optional"
)

// verifySpec says, per token_id and per chain_id, whether a KEYSIGN whose
// transaction tssgate could not verify may still be approved by a rule.
// Everything is required unless the file says otherwise.
type verifySpec struct {
	def    string            // required | optional
	tokens map[string]string // token_id, exactly as Cobo spells it -> mode
	chains map[string]string // chain_id, exactly -> mode
	// warnings are entries that load but do nothing: `optional` for a
	// token or chain the built-in token table verifies, where only "no
	// decoder" could ever be accepted and that never happens (BTC before
	// tssgate verified UTXO chains).
	warnings []string
}

// mode returns the verification mode for a transaction: the token's entry,
// else the chain's, else the default.
func (v verifySpec) mode(tokenID, chainID string) string {
	// Exact: on a transaction that is not verified, tx.token_id and
	// tx.chain_id are the description's spelling, so a case-insensitive
	// match would let "Btc" pass as optional BTC and then dodge every rule
	// and limit written for "BTC".
	if m, ok := v.tokens[tokenID]; ok && tokenID != "" {
		return m
	}
	if m, ok := v.chains[chainID]; ok && chainID != "" {
		return m
	}
	if v.def == "" {
		return verifyRequired
	}
	return v.def
}

type listSpec struct {
	name    string
	file    string // resolved path when the list came from a file
	entries []string
}

type ruleSpec struct {
	name     string
	line     int
	when     string
	whenLine int
	action   string
	mode     string
	reason   string
}

// parser collects issues while walking one policy file.
type parser struct {
	name    string
	baseDir string
	issues  []Issue
	// files are the list files read (or attempted), in order, with their
	// contents, for the version hash and for Watch.
	files []listFile
	// readFile reads list files; nil means readLimited. The fuzz test
	// replaces it so that generated paths never touch the file system.
	readFile func(path string) ([]byte, error)
	// testPolicy is the policy a tests file is parsed for: its limits are
	// the ones a case's usage may name.
	testPolicy *Policy
}

func (p *parser) read(path string) ([]byte, error) {
	if p.readFile != nil {
		return p.readFile(path)
	}
	return readLimited(path)
}

type listFile struct {
	path    string // resolved against the policy's directory
	written string // as the policy names it
	data    []byte // nil when reading failed
}

func (p *parser) addf(line int, rule, list, format string, args ...any) {
	p.issues = append(p.issues, Issue{File: p.name, Line: line, Rule: rule, List: list, Msg: fmt.Sprintf(format, args...)})
}

// readLimited reads a whole regular file, refusing anything over
// maxFileSize and anything that is not a regular file. Whoever can write
// the policy directory could leave a named pipe (or a device) in place of
// the policy or a list file: a plain open blocks until a writer appears,
// hanging serve's start or its reload path for ever. The file is opened
// non-blocking and checked with fstat (the open file, not the name)
// before anything is read.
func readLimited(path string) ([]byte, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// decodeYAML parses exactly one YAML document into its root node.
func decodeYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, errors.New("the file holds more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("the file is not a YAML document")
	}
	return deref(doc.Content[0]), nil
}

// deref follows YAML aliases, so that anchors can be used for reuse.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// mapping walks a YAML mapping, refusing duplicate and unknown keys. fn
// gets each known key with its (dereferenced) value.
func mapping(n *yaml.Node, known []string, onIssue func(line int, msg string), fn func(key string, keyNode, val *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			onIssue(k.Line, "keys must be plain strings")
			continue
		}
		if seen[k.Value] {
			onIssue(k.Line, fmt.Sprintf("%s: duplicate key", k.Value))
			continue
		}
		seen[k.Value] = true
		ok := false
		for _, name := range known {
			if k.Value == name {
				ok = true
				break
			}
		}
		if !ok {
			onIssue(k.Line, fmt.Sprintf("%s: unknown key (known keys: %s)", k.Value, strings.Join(known, ", ")))
			continue
		}
		fn(k.Value, k, v)
	}
}

// scalarString reads a string-valued scalar. Values YAML would resolve to
// another type (numbers, booleans, null) are refused: a policy must say
// what it means.
func scalarString(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", false
	}
	return n.Value, true
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("%q", truncate(n.Value, 40))
		}
		return fmt.Sprintf("%s %s", strings.TrimPrefix(n.Tag, "!!"), truncate(n.Value, 40))
	}
	return "an unexpected YAML node"
}

func (p *parser) parse(data []byte) *fileSpec {
	root, err := decodeYAML(data)
	if err != nil {
		p.addf(yamlErrorLine(err), "", "", "%v", err)
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.addf(root.Line, "", "", "the policy must be a mapping with version, default, lists and rules")
		return nil
	}
	spec := &fileSpec{defaultAction: actionReject}
	sawVersion := false
	top := func(line int, msg string) { p.addf(line, "", "", "%s", msg) }
	mapping(root, []string{"version", "serial", "description", "default", "lists", "rules", "verify", "limits"}, top, func(key string, k, v *yaml.Node) {
		switch key {
		case "serial":
			n, ok := ParseSerial(v)
			if !ok {
				p.addf(v.Line, "", "", "serial: must be a positive integer (1, 2, ...; at most %d digits), got %s", MaxSerialDigits, describeNode(v))
				return
			}
			spec.serial = n
		case "version":
			sawVersion = true
			if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Value != "1" {
				p.addf(v.Line, "", "", "version: must be 1, got %s", describeNode(v))
			}
		case "description":
			if _, ok := scalarString(v); !ok {
				p.addf(v.Line, "", "", "description: must be a string, got %s", describeNode(v))
			}
		case "default":
			s, ok := scalarString(v)
			if !ok || (s != actionApprove && s != actionReject) {
				p.addf(v.Line, "", "", "default: must be approve or reject, got %s", describeNode(v))
				return
			}
			spec.defaultAction = s
		case "lists":
			spec.lists = p.parseLists(v)
		case "rules":
			spec.rules = p.parseRules(v)
		case "verify":
			spec.verify = p.parseVerify(v)
		case "limits":
			spec.limits = p.parseLimits(v)
		}
	})
	if !sawVersion {
		p.addf(root.Line, "", "", "version: missing; write `version: 1`")
	}
	return spec
}

// MaxSerialDigits bounds a serial's decimal digits, so that it always
// fits an int64 (what the decision log's JSON carries) with room to grow.
const MaxSerialDigits = 15

// ParseSerial reads a serial (a policy's, and a governance file's, which
// package governance reads with it): a YAML integer written as plain decimal
// digits without sign or leading zero (YAML would read 0x10 or 0o7 as
// integers too; a serial is compared as a number, so it has one
// spelling), between 1 and 10^15-1.
func ParseSerial(v *yaml.Node) (uint64, bool) {
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		return 0, false
	}
	s := v.Value
	if s == "" || len(s) > MaxSerialDigits || s[0] == '0' {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, true
}

// yamlErrorLine pulls the line number out of a yaml.v3 error message
// ("yaml: line 7: ..."), or returns 0.
func yamlErrorLine(err error) int {
	var line int
	if _, scanErr := fmt.Sscanf(err.Error(), "yaml: line %d:", &line); scanErr == nil {
		return line
	}
	return 0
}

// celReserved are the words CEL reserves; a list named like one could not
// be written as lists.NAME.
var celReserved = map[string]bool{
	"as": true, "break": true, "const": true, "continue": true, "else": true,
	"false": true, "for": true, "function": true, "if": true, "import": true,
	"in": true, "let": true, "loop": true, "package": true, "namespace": true,
	"null": true, "return": true, "true": true, "var": true, "void": true, "while": true,
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

func (p *parser) parseLists(n *yaml.Node) []listSpec {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.addf(n.Line, "", "", "lists: must be a mapping of list names, got %s", describeNode(n))
		return nil
	}
	var out []listSpec
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		name, ok := scalarString(k)
		switch {
		case !ok || !isIdentifier(name):
			p.addf(k.Line, "", "", "lists: %s is not a valid list name (letters, digits and _, not starting with a digit)", describeNode(k))
			continue
		case celReserved[name]:
			p.addf(k.Line, "", "", "lists: %q is a reserved word in CEL and cannot name a list", name)
			continue
		case seen[name]:
			p.addf(k.Line, "", name, "duplicate list name")
			continue
		}
		seen[name] = true
		l := listSpec{name: name}
		switch v.Kind {
		case yaml.SequenceNode:
			for _, e := range v.Content {
				e = deref(e)
				s, ok := scalarString(e)
				if !ok {
					p.addf(e.Line, "", name, "entries must be strings, got %s (quote it)", describeNode(e))
					continue
				}
				s = strings.TrimSpace(s)
				if s == "" {
					p.addf(e.Line, "", name, "empty entry")
					continue
				}
				if msg := entryProblem(s, "write each entry as its own item (a missing comma in [a b]?)"); msg != "" {
					p.addf(e.Line, "", name, "%s", msg)
					continue
				}
				l.entries = append(l.entries, s)
			}
		case yaml.MappingNode:
			sawFile := false
			onIssue := func(line int, msg string) { p.addf(line, "", name, "%s", msg) }
			mapping(v, []string{"file"}, onIssue, func(_ string, _, fv *yaml.Node) {
				sawFile = true
				path, ok := scalarString(fv)
				if !ok || path == "" {
					p.addf(fv.Line, "", name, "file: must be a path, got %s", describeNode(fv))
					return
				}
				if err := displaySafePath(path); err != nil {
					p.addf(fv.Line, "", name, "file: %q %v", path, err)
					return
				}
				written := path
				if !filepath.IsAbs(path) {
					path = filepath.Join(p.baseDir, path)
				}
				l.file = path
				l.entries = p.readListFile(name, fv.Line, path, written)
			})
			if !sawFile {
				p.addf(v.Line, "", name, "a list is either a sequence of strings or {file: path}")
			}
		default:
			p.addf(v.Line, "", name, "a list is either a sequence of strings or {file: path}, got %s", describeNode(v))
		}
		out = append(out, l)
	}
	return out
}

// displaySafePath returns an error unless a list file's path, as the
// policy writes it (the name its manifest line carries, which approvers
// read before they sign), is printable ASCII (0x20 to 0x7e) without a
// leading or trailing space: a terminal escape, a bidirectional
// override or an invisible character in it would make the manifest
// shown differ from the manifest signed. internal/governance applies
// the same rule to every manifest item.
func displaySafePath(path string) error {
	for i := 0; i < len(path); i++ {
		if c := path[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("holds byte 0x%02x at %d, which is not printable ASCII: list file paths must be printable ASCII (no control, invisible, bidirectional or other non-ASCII characters), so that the manifest approvers read is the one they sign; rename the file", c, i)
		}
	}
	if path[0] == ' ' || path[len(path)-1] == ' ' {
		return fmt.Errorf("starts or ends with a space; rename the file")
	}
	return nil
}

// readListFile reads one entry a line. One UTF-8 byte order mark at the
// start of the file (what some Windows editors write) is skipped, and so
// are blank lines and comments (from a '#' at the start of a line or after
// whitespace); every entry must pass entryProblem.
func (p *parser) readListFile(name string, line int, path, written string) []string {
	data, err := p.read(path)
	p.files = append(p.files, listFile{path: path, written: written, data: data})
	if err != nil {
		p.addf(line, "", name, "file: %v", err)
		return nil
	}
	var entries []string
	for i, raw := range strings.Split(strings.TrimPrefix(string(data), byteOrderMark), "\n") {
		text := raw
		if j := commentStart(text); j >= 0 {
			text = text[:j]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if msg := entryProblem(text, "write one entry a line"); msg != "" {
			p.issues = append(p.issues, Issue{File: path, Line: i + 1, List: name, Msg: msg})
			continue
		}
		entries = append(entries, text)
	}
	return entries
}

// byteOrderMark is U+FEFF in UTF-8.
const byteOrderMark = "\ufeff"

// entryProblem says why a list entry (already trimmed of surrounding
// whitespace) is refused, or returns "". Each refusal is an entry that
// would load and then never match what it was written for, so a deny list
// would silently block nothing:
//   - bytes that are not UTF-8, and control and format characters
//     (Unicode Cc and Cf: a zero-width space, a byte order mark, a soft
//     hyphen, a bidirectional mark), which no address, id or hash
//     contains and which are invisible where the list is reviewed;
//   - inner whitespace, most likely two entries run together (spaceHint
//     says how to write them apart);
//   - a spelling of an address or hash that tx never shows
//     (addressSpelling): 64 hex digits with upper case, a bech32 or
//     CashAddr address with upper case, a CashAddr without its prefix; an
//     EVM address with upper case is not refused, since lists normalize
//     EVM entries and probes.
//
// The character is named as U+XXXX with its byte offset, since it cannot be
// seen.
func entryProblem(s, spaceHint string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("entry %s is not valid UTF-8 (byte 0x%02x at byte %d); save the file as UTF-8", quoteEntry(s), s[i], i)
		case unicode.IsSpace(r):
			return fmt.Sprintf("entry %s contains whitespace (%U at byte %d); %s", quoteEntry(s), r, i, spaceHint)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("entry %s contains %U at byte %d, an invisible control or format character, so it would match nothing; delete it", quoteEntry(s), r, i)
		}
		i += size
	}
	if what, want := addressSpelling(s); what != "" && normalizeAddress(s) == s {
		return fmt.Sprintf("entry %s is %s; tx shows these in lower case, a CashAddr with its prefix, so it would never match: write %s", quoteEntry(s), what, quoteEntry(want))
	}
	return ""
}

// addressSpelling says what is wrong with s as a spelling of a value tx
// shows in one canonical form, and the spelling to write, or returns "":
// an EVM address or 64-hex-digit hash with upper case (tx shows lower
// case), a bech32, bech32m or CashAddr address in upper case (tx shows
// lower case), or a CashAddr address without its prefix (tx shows
// "bitcoincash:" and the body).
func addressSpelling(s string) (what, want string) {
	switch lower := strings.ToLower(s); {
	case normalizeAddress(s) != s:
		return "an EVM address with upper case", lower
	case upperHex64(s):
		return "a 64-hex-digit hash with upper case", lower
	case bareCashAddr(lower):
		return "a CashAddr address without its bitcoincash: prefix", btc.BitcoinCash.CashAddr + ":" + lower
	case upperCaseBitcoinAddress(s):
		return "a bech32 or CashAddr address with upper case", lower
	}
	return "", ""
}

// bareCashAddr reports whether lower (already lower case) is a CashAddr
// address without its prefix, which DecodeAddress accepts but tx never
// shows.
func bareCashAddr(lower string) bool {
	if strings.Contains(lower, ":") || len(lower) != 42 {
		return false
	}
	_, err := btc.DecodeAddress(btc.BitcoinCash, lower)
	return err == nil
}

// upperCaseBitcoinAddress reports whether s has upper-case letters and
// its lower case decodes as an address of a Bitcoin-family network whose
// encoding is case-insensitive (bech32, bech32m, CashAddr): BIP-173 and
// CashAddr make the all-upper-case spelling valid and equal to the lower
// case (and a mixed-case one invalid), while tx shows only the lower case,
// so an entry or literal written with upper case would never match.
// (Base58 is case-sensitive: its spellings are distinct addresses, and
// lower-casing one almost never gives a valid address, so only the
// case-insensitive encodings are tried.)
func upperCaseBitcoinAddress(s string) bool {
	lower := strings.ToLower(s)
	if len(s) < 8 || len(s) > 128 || lower == s {
		return false
	}
	for _, name := range []string{"btc", "testnet", "signet", "ltc", "doge", "bch"} {
		n, ok := btc.NetworkByName(name)
		if !ok {
			continue
		}
		// The forms DecodeAddress reads case-insensitively.
		segwit := n.HRP != "" && strings.HasPrefix(lower, n.HRP+"1")
		cash := n.CashAddr != "" && (strings.Contains(lower, ":") || len(lower) == 42)
		if segwit || cash {
			if _, err := btc.DecodeAddress(n, lower); err == nil {
				return true
			}
		}
	}
	return false
}

// upperHex64 reports whether s is 64 hex digits, optionally after 0x or
// 0X, with at least one upper-case letter (the X included).
func upperHex64(s string) bool {
	digits := s
	if len(s) == 66 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		digits = s[2:]
	}
	if len(digits) != 64 {
		return false
	}
	upper := digits != s && s[1] == 'X'
	for i := 0; i < len(digits); i++ {
		switch c := digits[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			upper = true
		default:
			return false
		}
	}
	return upper
}

// quoteEntry quotes an entry for a message, at most about 60 bytes of it,
// with every non-ASCII and invisible character escaped so that the reader
// sees what the entry holds.
func quoteEntry(s string) string {
	if len(s) > 60 {
		cut := 60
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.QuoteToASCII(s[:cut]) + "..."
	}
	return strconv.QuoteToASCII(s)
}

func commentStart(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

func (p *parser) parseRules(n *yaml.Node) []ruleSpec {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.addf(n.Line, "", "", "rules: must be a list of rules, got %s", describeNode(n))
		return nil
	}
	var out []ruleSpec
	names := map[string]int{}
	for i, rn := range n.Content {
		rn = deref(rn)
		if rn.Kind != yaml.MappingNode {
			p.addf(rn.Line, "", "", "rules[%d]: must be a mapping with name, when and action, got %s", i, describeNode(rn))
			continue
		}
		r := ruleSpec{line: rn.Line, mode: ModeLive}
		// The name is read first so that every other issue can name the rule.
		for j := 0; j+1 < len(rn.Content); j += 2 {
			if deref(rn.Content[j]).Value == "name" {
				r.name, _ = scalarString(deref(rn.Content[j+1]))
			}
		}
		label := r.name
		if label == "" {
			label = fmt.Sprintf("rules[%d]", i)
		}
		issue := func(line int, format string, args ...any) { p.addf(line, label, "", format, args...) }
		sawName, sawWhen, sawAction := false, false, false
		mapping(rn, []string{"name", "description", "when", "action", "mode", "reason"},
			func(line int, msg string) { issue(line, "%s", msg) },
			func(key string, k, v *yaml.Node) {
				switch key {
				case "name":
					sawName = true
				case "when":
					sawWhen = true
				case "action":
					sawAction = true
				}
				s, isStr := scalarString(v)
				if !isStr {
					issue(v.Line, "%s: must be a string, got %s", key, describeNode(v))
					return
				}
				switch key {
				case "name":
					if msg := checkName(s, "rule", v.Line, names); msg != "" {
						issue(v.Line, "%s", msg)
					}
				case "when":
					if strings.TrimSpace(s) == "" {
						issue(v.Line, "when: must be a CEL expression")
						return
					}
					r.when, r.whenLine = s, v.Line
				case "action":
					if s != actionApprove && s != actionReject {
						issue(v.Line, "action: must be approve or reject, got %q", truncate(s, 40))
						return
					}
					r.action = s
				case "mode":
					if s != ModeLive && s != ModeShadow {
						issue(v.Line, "mode: must be live or shadow, got %q", truncate(s, 40))
						return
					}
					r.mode = s
				case "reason":
					r.reason = strings.TrimSpace(s)
				}
			})
		if !sawName {
			issue(rn.Line, "name: missing; every rule needs a unique name")
		}
		if !sawWhen {
			issue(rn.Line, "when: missing; every rule needs a condition")
		}
		if !sawAction {
			issue(rn.Line, "action: missing; write approve or reject")
		}
		if r.reason != "" && r.action == actionApprove {
			issue(rn.Line, "reason: only reject rules carry a reason (an approval sends none to the TSS Node)")
		}
		out = append(out, r)
	}
	return out
}

// versionOf hashes the policy bytes and every list file's bytes, each
// length-prefixed so that moving bytes between files changes the hash.
func versionOf(data []byte, files []listFile) string {
	h := sha256.New()
	var n [8]byte
	write := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	write(data)
	for _, f := range files {
		write(f.data)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// parseVerify reads
//
//	verify:
//	  default: required          # required | optional
//	  tokens: {BTC: optional}    # by Cobo token_id, matched exactly
//	  chains: {LTC: optional}    # by Cobo chain_id, matched exactly
func (p *parser) parseVerify(n *yaml.Node) verifySpec {
	spec := verifySpec{def: verifyRequired, tokens: map[string]string{}, chains: map[string]string{}}
	var folded map[string]string // section + upper-cased key -> the key as written
	if n.Kind != yaml.MappingNode {
		p.addf(n.Line, "", "", "verify: must be a mapping with default, tokens and chains, got %s", describeNode(n))
		return spec
	}
	modeOf := func(field string, v *yaml.Node) (string, bool) {
		s, ok := scalarString(v)
		if !ok || (s != verifyRequired && s != verifyOptional) {
			p.addf(v.Line, "", "", "%s: must be required or optional, got %s", field, describeNode(v))
			return "", false
		}
		return s, true
	}
	issue := func(line int, msg string) { p.addf(line, "", "", "verify: %s", msg) }
	mapping(n, []string{"default", "tokens", "chains"}, issue, func(key string, _, v *yaml.Node) {
		switch key {
		case "default":
			if m, ok := modeOf("verify.default", v); ok {
				spec.def = m
			}
		case "tokens", "chains":
			if folded == nil {
				folded = map[string]string{}
			}
			dst := spec.tokens
			if key == "chains" {
				dst = spec.chains
			}
			if v.Kind != yaml.MappingNode {
				p.addf(v.Line, "", "", "verify.%s: must be a mapping of %s to required or optional, got %s", key, strings.TrimSuffix(key, "s")+"_id", describeNode(v))
				return
			}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, mv := deref(v.Content[i]), deref(v.Content[i+1])
				id, ok := scalarString(k)
				if !ok || id == "" {
					p.addf(k.Line, "", "", "verify.%s: keys must be non-empty strings, got %s", key, describeNode(k))
					continue
				}
				if !text.PrintableASCII(id) {
					p.addf(k.Line, "", "", "verify.%s: key %q must be printable ASCII without spaces, spelled exactly as Cobo sends it", key, truncate(id, 40))
					continue
				}
				if prev, dup := folded[key+"\x00"+strings.ToUpper(id)]; dup {
					// Keys match exactly, so ETH and eth would be two
					// entries for what a reader takes for one.
					p.addf(k.Line, "", "", "verify.%s.%s: duplicate key (as %s, keys differing only in case are refused)", key, id, prev)
					continue
				}
				folded[key+"\x00"+strings.ToUpper(id)] = id
				if m, ok := modeOf("verify."+key+"."+id, mv); ok {
					dst[id] = m
					if m == verifyOptional && builtinVerified(key, id) {
						spec.warnings = append(spec.warnings, fmt.Sprintf("%s:%d: verify.%s.%s: optional has no effect: tssgate verifies %s transactions itself, and one that does not verify is rejected in every mode",
							p.name, k.Line, key, id, id))
					}
				}
			}
		}
	})
	return spec
}

// checkName validates a rule or limit name and records it in names (name
// -> line). It returns the problem, or "". The names the engine gives its
// own decisions are reserved, so that a decision's Rule always says
// unambiguously what decided.
func checkName(s, kind string, line int, names map[string]int) string {
	switch {
	case strings.TrimSpace(s) == "" || s != strings.TrimSpace(s):
		return "name: must be non-empty, without leading or trailing spaces"
	case s == RuleDefault || s == RuleVerify || strings.HasPrefix(s, "builtin:"):
		return fmt.Sprintf("name: %q is reserved for decisions the engine makes itself", s)
	case names[s] != 0:
		return fmt.Sprintf("name: duplicate %s name (first used on line %d)", kind, names[s])
	}
	names[s] = line
	return ""
}

// builtinVerified reports whether the built-in token table has a decoder
// for token_id (key "tokens") or chain_id (key "chains") id.
func builtinVerified(key, id string) bool {
	for _, t := range txverify.DefaultRegistry().Tokens() {
		if (key == "tokens" && t.TokenID == id) || (key == "chains" && t.ChainID == id) {
			return true
		}
	}
	return false
}
