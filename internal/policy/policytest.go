package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"tssgate/internal/decimal"
	"tssgate/internal/gate"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/sqlite"
	"tssgate/internal/token"
)

// caseTimeout bounds the evaluation of one test case.
const caseTimeout = 10 * time.Second

// RunTests runs the policy tests in the file at testsPath against p, as
// `tssgate policy test` does. It writes one PASS or FAIL line per case to w,
// then a summary line, and returns the counts. A tests file that cannot be
// read or is malformed is an error (a *LoadError naming file and line for
// each problem) and runs no case; a case whose request does not decode is a
// FAIL, not an error.
//
// The tests file is YAML:
//
//	now: "2026-01-05T10:00:00+08:00"   # optional default clock for every case
//	tests:
//	  - name: small payout to treasury approves   # required, unique
//	    request:
//	      type: keysign         # required: ping|keygen|keysign|keyreshare|keysharesign
//	      version: v2           # v1 or v2; default v2
//	      id: req-1             # request_id; default "test-<n>"
//	      node_key: node-a      # request.node_key; default ""
//	      detail: {...}         # request_detail as an inline object, or
//	      detail_file: x.json   #   from a JSON file (relative to the tests file);
//	                            #   neither: the built-in sample for (version, type)
//	      detail_patch: {...}   # JSON merge patch (RFC 7386) applied on top
//	      extra: {...}          # extra_info, likewise: extra, extra_file or the sample,
//	      extra_file: x.json
//	      extra_patch: {...}    #   then extra_patch
//	    now: "2026-01-05T10:00:00+08:00"   # optional; else the file's now, else the real clock
//	    usage:                # optional: limit usage recorded before the case runs (parseUsage)
//	      - {limit: eth-daily, key: [w-1, ETH], amount: "1.5", count: 2, at: "2026-01-05T09:00:00+08:00"}
//	    expect:
//	      action: approve       # required: approve|reject (or APPROVE|REJECT)
//	      rule: treasury-payouts  # optional: the deciding rule ("default" for the default)
//	      reason_contains: "..."  # optional: a substring of the reason
//	      shadow_matched: [a, b]  # optional: exactly the shadow rules that matched
//
// Requests are built as the server receives them and run through the
// server's own decision pipeline (gate.CheckVerified: decode, transaction
// verification, replay, decide, record) with a temporary SQLite decision
// store, created for the run and removed after it. So every case exercises
// the real decoder, a request_id used twice is answered from the record as
// serve would, and velocity limits count across the cases of one file, in
// file order, each case at its own clock. Numbers in
// inline YAML keep their exact text (0.0001 stays 0.0001); write amounts
// as strings where the protocol sends strings.
func RunTests(p *Policy, testsPath string, w io.Writer) (passed, failed int, err error) {
	return RunTestsVerifying(p, testsPath, w, nil)
}

// RunTestsVerifying is RunTests with the server's transaction verification:
// every KEYSIGN case is verified by verify before the policy decides,
// unless the case says `verified: true` (assume the bytes match the
// description: for cases that patch the sample's amounts or addresses and
// so no longer match its bytes) or `verified: false`. With a nil verify,
// cases without `verified` are decided as unverified.
func RunTestsVerifying(p *Policy, testsPath string, w io.Writer, verify protocol.TxVerifier) (passed, failed int, err error) {
	data, err := readLimited(testsPath)
	if err != nil {
		return 0, 0, fmt.Errorf("reading policy tests: %w", err)
	}
	cases, err := parseTests(testsPath, data, p)
	if err != nil {
		return 0, 0, err
	}
	run, err := newCaseRunner(p, verify)
	if err != nil {
		return 0, 0, err
	}
	defer run.close()
	for _, c := range cases {
		if msg := run.check(c); msg != "" {
			failed++
			fmt.Fprintf(w, "FAIL  %s (%s:%d): %s\n", c.name, testsPath, c.line, msg)
		} else {
			passed++
			fmt.Fprintf(w, "PASS  %s\n", c.name)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed (policy %s, version %s)\n", passed, failed, p.name, p.version)
	return passed, failed, nil
}

// caseRunner decides test cases through the decision pipeline that serve
// runs (gate), with a temporary SQLite decision store, so that a case is
// decoded, verified, answered from the record, decided and recorded as a
// callback would be, and velocity limits count across the cases of one
// file in file order, each at its case's clock. The cases run one at a
// time; the pipeline's clock and verifier read the current one.
type caseRunner struct {
	gate    *gate.Gate
	st      *sqlite.Store
	dir     string
	current *testCase
	verify  protocol.TxVerifier
	// policyVersion and usageRecords label the stated usage's ledger
	// records in the temporary store.
	policyVersion string
	usageRecords  int
}

func newCaseRunner(p *Policy, verify protocol.TxVerifier) (*caseRunner, error) {
	dir, err := os.MkdirTemp("", "tssgate-policy-test-")
	if err != nil {
		return nil, fmt.Errorf("policy test: creating the temporary decision store: %w", err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "decisions.db"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("policy test: creating the temporary decision store: %w", err)
	}
	r := &caseRunner{st: st, dir: dir, verify: verify, policyVersion: p.version}
	r.gate, err = gate.New(gate.Config{
		// Cases carry no token: CheckVerified takes the case's node_key
		// as the verified key, so this verifier is never asked.
		Verifier:      &token.Verifier{},
		Decider:       p,
		VerifyTx:      r.verifyTx,
		Store:         st,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		DecideTimeout: caseTimeout,
		Now:           r.now,
	})
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *caseRunner) close() {
	r.st.Close()
	os.RemoveAll(r.dir)
}

// now is the current case's clock: its now, else the file's, else the
// real clock.
func (r *caseRunner) now() time.Time {
	if r.current != nil && r.current.hasNow {
		return r.current.now
	}
	return time.Now()
}

// verifyTx is the pipeline's transaction verifier: the current case's
// `verified`, else the command's verifier, else none.
func (r *caseRunner) verifyTx(req *protocol.Request) *protocol.Verification {
	switch c := r.current; {
	case c != nil && c.assumeVerified != nil && *c.assumeVerified:
		return assumedVerification(req)
	case c != nil && c.assumeVerified != nil:
		return &protocol.Verification{Reason: "the test case says the transaction is not verified"}
	case r.verify != nil:
		return r.verify(req)
	}
	return nil
}

type testCase struct {
	name    string
	line    int
	typ     protocol.RequestType
	version protocol.Version
	id      string
	nodeKey string
	detail  []byte
	extra   []byte
	// assumeVerified is the case's `verified`: nil runs the verifier.
	assumeVerified *bool
	now            time.Time
	hasNow         bool
	action         protocol.Action
	rule           string
	reason         string
	shadow         []string
	checkShd       bool
	buildErr       string // a failure preparing the request (bad patch target)
	usage          []usageEntry
}

// check runs c through the pipeline and returns "" if the outcome is what
// c expects, else what differs.
func (r *caseRunner) check(c *testCase) string {
	if c.buildErr != "" {
		return c.buildErr
	}
	raw, err := json.Marshal(protocol.NewCallbackRequest(c.id, c.typ, c.detail, c.extra))
	if err != nil {
		return "encoding the request: " + err.Error()
	}
	r.current = c
	defer func() { r.current = nil }()
	if msg := r.recordUsage(c); msg != "" {
		return msg
	}
	d := r.gate.CheckVerified(context.Background(), c.version, c.nodeKey, raw)
	switch d.Status {
	case protocol.StatusOK:
	case protocol.StatusInvalidRequest:
		return "the request does not decode (the server would answer status 10 without asking the policy): " + d.Reason
	default:
		msg := d.Reason
		if d.Cause != nil {
			msg = d.Cause.Error()
		}
		return "evaluation failed: " + msg
	}
	var problems []string
	if d.Action != c.action || (c.rule != "" && d.Rule != c.rule) {
		want := string(c.action)
		if c.rule != "" {
			want += fmt.Sprintf(" by rule %q", c.rule)
		}
		problems = append(problems, fmt.Sprintf("want %s, got %s by rule %q", want, d.Action, d.Rule))
	}
	if c.reason != "" && !strings.Contains(d.Reason, c.reason) {
		problems = append(problems, fmt.Sprintf("want a reason containing %q", c.reason))
	}
	if c.checkShd {
		var got []string
		for _, s := range d.Shadow {
			if s.Matched {
				got = append(got, s.Rule)
			}
		}
		want := slices.Clone(c.shadow)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			problems = append(problems, fmt.Sprintf("want shadow matches [%s], got [%s]", strings.Join(want, ", "), strings.Join(got, ", ")))
		}
	}
	if len(problems) == 0 {
		return ""
	}
	if d.Reason != "" {
		problems = append(problems, fmt.Sprintf("reason: %s", d.Reason))
	}
	return strings.Join(problems, "; ")
}

// parseTests parses a tests file for the policy pol, which names the
// limits a case's usage may state.
func parseTests(path string, data []byte, pol *Policy) ([]*testCase, error) {
	tp := &parser{name: path, baseDir: filepath.Dir(path), testPolicy: pol}
	cases := tp.parseTestsFile(data)
	if len(tp.issues) > 0 {
		return nil, &LoadError{Issues: tp.issues}
	}
	return cases, nil
}

func (p *parser) parseTestsFile(data []byte) []*testCase {
	root, err := decodeYAML(data)
	if err != nil {
		p.addf(yamlErrorLine(err), "", "", "%v", err)
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.addf(root.Line, "", "", "a tests file is a mapping with a tests list")
		return nil
	}
	var (
		defNow    time.Time
		hasDefNow bool
		testsNode *yaml.Node
	)
	top := func(line int, msg string) { p.addf(line, "", "", "%s", msg) }
	mapping(root, []string{"now", "tests"}, top, func(key string, _, v *yaml.Node) {
		switch key {
		case "now":
			defNow, hasDefNow = p.parseNow(v, "")
		case "tests":
			testsNode = v
		}
	})
	if testsNode == nil || testsNode.Kind != yaml.SequenceNode {
		p.addf(root.Line, "", "", "tests: missing or not a list of test cases")
		return nil
	}
	var cases []*testCase
	names := map[string]int{}
	for i, cn := range testsNode.Content {
		cn = deref(cn)
		if cn.Kind != yaml.MappingNode {
			p.addf(cn.Line, "", "", "tests[%d]: must be a mapping with name, request and expect", i)
			continue
		}
		c := &testCase{line: cn.Line, id: fmt.Sprintf("test-%d", i+1), version: protocol.V2, now: defNow, hasNow: hasDefNow}
		label := fmt.Sprintf("tests[%d]", i)
		issue := func(line int, format string, args ...any) {
			p.addf(line, "", "", "%s: %s", label, fmt.Sprintf(format, args...))
		}
		var reqNode, expectNode, usageNode *yaml.Node
		mapping(cn, []string{"name", "request", "now", "usage", "expect"},
			func(line int, msg string) { issue(line, "%s", msg) },
			func(key string, _, v *yaml.Node) {
				switch key {
				case "name":
					s, ok := scalarString(v)
					if !ok || strings.TrimSpace(s) == "" {
						issue(v.Line, "name: must be a non-empty string")
						return
					}
					if first, dup := names[s]; dup {
						issue(v.Line, "name: duplicate test name (first used on line %d)", first)
						return
					}
					names[s] = v.Line
					c.name, label = s, fmt.Sprintf("test %q", s)
				case "request":
					reqNode = v
				case "now":
					c.now, c.hasNow = p.parseNow(v, label)
				case "usage":
					usageNode = v
				case "expect":
					expectNode = v
				}
			})
		if c.name == "" {
			issue(cn.Line, "name: missing")
		}
		if reqNode == nil {
			issue(cn.Line, "request: missing")
		} else {
			p.parseTestRequest(c, reqNode, issue)
		}
		if usageNode != nil {
			p.parseUsage(c, usageNode, issue)
		}
		if expectNode == nil {
			issue(cn.Line, "expect: missing")
		} else {
			p.parseExpect(c, expectNode, issue)
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 && len(p.issues) == 0 {
		p.addf(testsNode.Line, "", "", "tests: no test cases")
	}
	return cases
}

func (p *parser) parseNow(v *yaml.Node, label string) (time.Time, bool) {
	s, ok := scalarString(v)
	if ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, true
		}
	}
	prefix := ""
	if label != "" {
		prefix = label + ": "
	}
	p.addf(v.Line, "", "", "%snow: must be an RFC 3339 time in quotes, such as \"2026-01-05T10:00:00+08:00\"", prefix)
	return time.Time{}, false
}

func (p *parser) parseTestRequest(c *testCase, n *yaml.Node, issue func(int, string, ...any)) {
	if n.Kind != yaml.MappingNode {
		issue(n.Line, "request: must be a mapping")
		return
	}
	var (
		typeSet                              bool
		detail, extra, detailPatch, extraPat []byte
		detailSet, extraSet                  bool
	)
	readPart := func(key string, v *yaml.Node, fromFile bool) []byte {
		if fromFile {
			s, ok := scalarString(v)
			if !ok || s == "" {
				issue(v.Line, "request.%s: must be a path", key)
				return nil
			}
			if !filepath.IsAbs(s) {
				s = filepath.Join(p.baseDir, s)
			}
			data, err := readLimited(s)
			if err != nil {
				issue(v.Line, "request.%s: %v", key, err)
				return nil
			}
			if !json.Valid(data) {
				issue(v.Line, "request.%s: %s is not valid JSON", key, s)
				return nil
			}
			return data
		}
		data, err := nodeToJSON(v)
		if err != nil {
			issue(v.Line, "request.%s: %v", key, err)
			return nil
		}
		return data
	}
	mapping(n, []string{"type", "version", "id", "node_key", "verified", "detail", "detail_file", "detail_patch", "extra", "extra_file", "extra_patch"},
		func(line int, msg string) { issue(line, "request: %s", msg) },
		func(key string, _, v *yaml.Node) {
			switch key {
			case "type", "version", "id", "node_key":
				s, ok := scalarString(v)
				if !ok {
					issue(v.Line, "request.%s: must be a string, got %s", key, describeNode(v))
					return
				}
				switch key {
				case "type":
					t, err := protocol.ParseRequestType(s)
					if err != nil {
						issue(v.Line, "request.type: %v", err)
						return
					}
					c.typ, typeSet = t, true
				case "version":
					if s != string(protocol.V1) && s != string(protocol.V2) {
						issue(v.Line, "request.version: must be v1 or v2, got %q", truncate(s, 20))
						return
					}
					c.version = protocol.Version(s)
				case "id":
					c.id = s
				case "node_key":
					c.nodeKey = s
				}
			case "verified":
				if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
					issue(v.Line, "request.verified: must be true or false, got %s", describeNode(v))
					return
				}
				b := v.Value == "true"
				c.assumeVerified = &b
			case "detail", "detail_file":
				if detailSet {
					issue(v.Line, "request: give detail or detail_file, not both")
					return
				}
				detailSet = true
				detail = readPart(key, v, key == "detail_file")
			case "extra", "extra_file":
				if extraSet {
					issue(v.Line, "request: give extra or extra_file, not both")
					return
				}
				extraSet = true
				extra = readPart(key, v, key == "extra_file")
			case "detail_patch":
				detailPatch = readPart(key, v, false)
			case "extra_patch":
				extraPat = readPart(key, v, false)
			}
		})
	if !typeSet {
		issue(n.Line, "request.type: missing")
		return
	}
	sd, se, err := protocol.Sample(c.version, c.typ)
	if err != nil {
		issue(n.Line, "request: %v", err)
		return
	}
	if !detailSet {
		detail = sd
	}
	if !extraSet {
		extra = se
	}
	if c.detail, err = mergePatch(detail, detailPatch); err != nil {
		c.buildErr = "detail_patch: " + err.Error()
	}
	if c.extra, err = mergePatch(extra, extraPat); err != nil {
		c.buildErr = "extra_patch: " + err.Error()
	}
}

func (p *parser) parseExpect(c *testCase, n *yaml.Node, issue func(int, string, ...any)) {
	if n.Kind != yaml.MappingNode {
		issue(n.Line, "expect: must be a mapping with action")
		return
	}
	sawAction := false
	mapping(n, []string{"action", "rule", "reason_contains", "shadow_matched"},
		func(line int, msg string) { issue(line, "expect: %s", msg) },
		func(key string, _, v *yaml.Node) {
			if key == "shadow_matched" {
				if v.Kind != yaml.SequenceNode {
					issue(v.Line, "expect.shadow_matched: must be a list of rule names")
					return
				}
				c.checkShd = true
				for _, e := range v.Content {
					s, ok := scalarString(deref(e))
					if !ok {
						issue(e.Line, "expect.shadow_matched: entries must be rule names")
						continue
					}
					c.shadow = append(c.shadow, s)
				}
				return
			}
			s, ok := scalarString(v)
			if !ok {
				issue(v.Line, "expect.%s: must be a string, got %s", key, describeNode(v))
				return
			}
			switch key {
			case "action":
				sawAction = true
				// The wire spelling (APPROVE, REJECT) is accepted too:
				// it is what audit output and replay reports print.
				if s == string(protocol.ActionApprove) || s == string(protocol.ActionReject) {
					s = strings.ToLower(s)
				}
				switch s {
				case actionApprove:
					c.action = protocol.ActionApprove
				case actionReject:
					c.action = protocol.ActionReject
				default:
					issue(v.Line, "expect.action: must be approve or reject (or APPROVE, REJECT), got %q", truncate(s, 20))
				}
			case "rule":
				c.rule = s
			case "reason_contains":
				c.reason = s
			}
		})
	if !sawAction {
		issue(n.Line, "expect.action: missing")
	}
}

// nodeToJSON renders a YAML value as JSON. Numbers keep their exact text
// and must already be valid JSON numbers (no 0x, 1_000, .inf), so nothing
// passes through float64.
func nodeToJSON(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	budget := maxJSONNodes
	if err := writeJSON(&buf, n, 0, &budget); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxJSONNodes bounds the values one inline object may expand to, so that
// YAML aliases nested inside each other cannot blow up exponentially.
const maxJSONNodes = 1_000_000

func writeJSON(buf *bytes.Buffer, n *yaml.Node, depth int, budget *int) error {
	if depth > 64 {
		return fmt.Errorf("line %d: nested too deeply", n.Line)
	}
	if *budget--; *budget < 0 {
		return fmt.Errorf("line %d: the value expands to more than %d elements", n.Line, maxJSONNodes)
	}
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: object keys must be strings", k.Line)
			}
			if seen[k.Value] {
				return fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			seen[k.Value] = true
			if i > 0 {
				buf.WriteByte(',')
			}
			key, _ := json.Marshal(k.Value)
			buf.Write(key)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1], depth+1, budget); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, e, depth+1, budget); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			buf.WriteString("null")
		case "!!bool":
			switch strings.ToLower(n.Value) {
			case "true":
				buf.WriteString("true")
			case "false":
				buf.WriteString("false")
			default:
				return fmt.Errorf("line %d: %q is not a JSON boolean", n.Line, n.Value)
			}
		case "!!int", "!!float":
			if !isJSONNumber(n.Value) {
				return fmt.Errorf("line %d: %s is not a plain JSON number; quote it if it is a string", n.Line, n.Value)
			}
			buf.WriteString(n.Value)
		default:
			s, _ := json.Marshal(n.Value)
			buf.Write(s)
		}
	default:
		return fmt.Errorf("line %d: unsupported YAML value", n.Line)
	}
	return nil
}

func isJSONNumber(s string) bool {
	if s == "" || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return false
	}
	var v json.Number
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return false
	}
	return string(v) == s
}

// mergePatch applies an RFC 7386 JSON merge patch: objects merge key by
// key, null deletes a key, anything else replaces. A nil patch returns base
// unchanged.
func mergePatch(base, patch []byte) ([]byte, error) {
	if patch == nil {
		return base, nil
	}
	var b, pt any
	if len(bytes.TrimSpace(base)) > 0 {
		if err := decodeNumbers(base, &b); err != nil {
			return nil, fmt.Errorf("the base document is not JSON: %v", err)
		}
	}
	if err := decodeNumbers(patch, &pt); err != nil {
		return nil, err
	}
	return json.Marshal(applyPatch(b, pt))
}

func decodeNumbers(data []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

func applyPatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = applyPatch(tm[k], v)
	}
	return tm
}

// assumedVerification is what a `verified: true` test case stands for: the
// transaction bytes decoded and match the description exactly.
func assumedVerification(req *protocol.Request) *protocol.Verification {
	v := &protocol.Verification{Verified: true}
	if req.KeySign != nil && req.KeySign.Tx != nil {
		// The assumption includes the table entry: the described token_id
		// and chain_id are taken to be its spelling (a v1 case has no
		// chain_id, so its tx.chain_id is "").
		v.Destinations = req.KeySign.Tx.Destinations
		v.Token, v.CoboChainID = req.KeySign.Tx.TokenID, req.KeySign.Tx.ChainID
	}
	return v
}

// usageEntry is one `usage:` entry of a case: count transactions under
// (limit, key) adding up to amount, recorded at at (when hasAt) or just
// before the case's clock.
type usageEntry struct {
	line   int
	limit  string
	key    string
	window time.Duration
	amount decimal.Decimal
	count  int64
	at     time.Time
	hasAt  bool
}

// parseUsage reads a case's `usage:` list:
//
//	usage:
//	  - limit: btc-daily        # required: a limit of the policy under test
//	    key: ["BTC"]            # required: one value per key expression, in order
//	    amount: "4.5"           # optional, a quoted non-negative decimal; default "0"
//	    count: 3                # optional, transactions, a plain decimal from 1; default 1
//	    at: "2026-01-05T09:00:00Z"  # optional; default one microsecond before the case's now
//
// key values are strings, or whole numbers for a key expression that is a
// CEL int: the ledger key is their JSON array, exactly as the policy
// builds it from the key expressions' values (["BTC"], ["w-1", 7]; a
// quoted "7" is the string "7", another key than the int 7). A value of
// the other type than its key expression's static type (a string for an
// int expression, a number for a string one) is refused, since it would
// count under a key the policy never builds; a dyn expression takes
// either. An at needs a fixed now (the case's or the file's) and must
// not be after it.
func (p *parser) parseUsage(c *testCase, n *yaml.Node, issue func(int, string, ...any)) {
	if n.Kind != yaml.SequenceNode {
		issue(n.Line, "usage: must be a list of {limit, key, amount, count, at}, got %s", describeNode(n))
		return
	}
	limits := map[string]*limit{}
	var names []string
	if p.testPolicy != nil {
		for _, l := range p.testPolicy.limits {
			limits[l.name] = l
			names = append(names, l.name)
		}
	}
	for i, en := range n.Content {
		en = deref(en)
		field := fmt.Sprintf("usage[%d]", i)
		if en.Kind != yaml.MappingNode {
			issue(en.Line, "%s: must be a mapping with limit and key, got %s", field, describeNode(en))
			continue
		}
		u := usageEntry{line: en.Line, count: 1}
		var keyNode *yaml.Node
		ok := true
		bad := func(line int, format string, args ...any) {
			issue(line, "%s.%s", field, fmt.Sprintf(format, args...))
			ok = false
		}
		mapping(en, []string{"limit", "key", "amount", "count", "at"},
			func(line int, msg string) { bad(line, "%s", msg) },
			func(key string, _, v *yaml.Node) {
				switch key {
				case "limit":
					s, isStr := scalarString(v)
					if !isStr || s == "" {
						bad(v.Line, "limit: must be a limit name, got %s", describeNode(v))
						return
					}
					u.limit = s
				case "key":
					keyNode = v
				case "amount":
					s, isStr := scalarString(v)
					d, err := decimal.Parse(s)
					switch {
					case !isStr:
						bad(v.Line, "amount: must be a quoted decimal (\"1.5\"), got %s", describeNode(v))
					case err != nil:
						bad(v.Line, "amount: %v", err)
					case d.Sign() < 0:
						bad(v.Line, "amount: must not be negative, got %s", s)
					default:
						u.amount = d
					}
				case "count":
					// Plain decimal only: YAML's int also takes 010
					// (octal), 0x10 and 1_0, which a reader takes
					// for other numbers.
					n, err := strconv.ParseInt(v.Value, 10, 64)
					switch {
					case v.Kind != yaml.ScalarNode || v.Tag != "!!int":
						bad(v.Line, "count: must be a whole number, got %s", describeNode(v))
					case err != nil || strconv.FormatInt(n, 10) != v.Value:
						bad(v.Line, "count: %s is not a plain decimal whole number (such as 3)", v.Value)
					case n < 1 || n > maxUsageCount:
						bad(v.Line, "count: must be from 1 to %d, got %s", maxUsageCount, v.Value)
					default:
						u.count = n
					}
				case "at":
					s, isStr := scalarString(v)
					t, err := time.Parse(time.RFC3339, s)
					if !isStr || err != nil {
						bad(v.Line, "at: must be an RFC 3339 time in quotes, such as \"2026-01-05T09:00:00Z\"")
						return
					}
					// A fixed at against the wall clock would make
					// the case pass or fail by the day it runs; an at
					// after now is usage from the case's future (often
					// a time-zone slip).
					switch {
					case !c.hasNow:
						bad(v.Line, "at: needs a fixed now (the case's or the file's): against the real clock, whether %s is in the window depends on when the tests run", s)
					case t.After(c.now):
						bad(v.Line, "at: %s is after the case's now (%s): usage is what was recorded before the case runs", s, c.now.Format(time.RFC3339))
					default:
						u.at, u.hasAt = t, true
					}
				}
			})
		if u.limit == "" {
			if ok {
				bad(en.Line, "limit: missing")
			}
			continue
		}
		l := limits[u.limit]
		if l == nil {
			known := strings.Join(names, ", ")
			if known == "" {
				known = "none"
			}
			bad(en.Line, "limit: the policy has no limit %q (its limits: %s)", u.limit, known)
			continue
		}
		u.window = l.window
		if keyNode == nil {
			bad(en.Line, "key: missing: a list of the limit's %d key values", len(l.keys))
			continue
		}
		if keyNode.Kind != yaml.SequenceNode {
			bad(keyNode.Line, "key: must be a list of the limit's %d key values, got %s", len(l.keys), describeNode(keyNode))
			continue
		}
		if len(keyNode.Content) != len(l.keys) {
			bad(keyNode.Line, "key: limit %q has %d key expressions, this key has %d values", u.limit, len(l.keys), len(keyNode.Content))
			continue
		}
		parts := make([]any, len(keyNode.Content))
		for j, kv := range keyNode.Content {
			kv = deref(kv)
			kind := "dyn"
			if j < len(l.keyKinds) {
				kind = l.keyKinds[j]
			}
			switch {
			case kv.Kind == yaml.ScalarNode && kv.Tag == "!!str" && kind == "int":
				bad(kv.Line, "key[%d]: limit %q's key expression %d is an int, this value is the string %q (a string key never matches an int one): write it without quotes", j, u.limit, j, kv.Value)
			case kv.Kind == yaml.ScalarNode && kv.Tag == "!!int" && kind == "string":
				bad(kv.Line, "key[%d]: limit %q's key expression %d is a string, this value is the whole number %s (an int key never matches a string one): quote it", j, u.limit, j, kv.Value)
			case kv.Kind == yaml.ScalarNode && kv.Tag == "!!str":
				parts[j] = kv.Value
			case kv.Kind == yaml.ScalarNode && kv.Tag == "!!int":
				var n int64
				if _, err := fmt.Sscan(kv.Value, &n); err != nil || fmt.Sprint(n) != strings.TrimPrefix(kv.Value, "+") {
					bad(kv.Line, "key[%d]: %s is not a plain whole number; quote it for a string", j, kv.Value)
					continue
				}
				parts[j] = n
			default:
				bad(kv.Line, "key[%d]: must be a string or a whole number, got %s", j, describeNode(kv))
			}
		}
		if !ok {
			continue
		}
		key, err := limitKey(parts)
		if err != nil {
			bad(keyNode.Line, "key: %v", err)
			continue
		}
		u.key = key
		c.usage = append(c.usage, u)
	}
}

// maxUsageCount bounds one usage entry's count: each transaction is a
// ledger record in the temporary store.
const maxUsageCount = 10_000

// recordUsage records c's stated usage in the temporary store's ledger,
// before c runs: each entry as count approvals under its limit and key
// (the first carrying the whole amount, the others 0), through the
// store's own Commit, so the limit then decides exactly as serve's would.
// Usage stays for the cases after c, like the usage cases consume.
func (r *caseRunner) recordUsage(c *testCase) string {
	for _, u := range c.usage {
		at := u.at
		if !u.hasAt {
			at = r.now().Add(-time.Microsecond)
		}
		for j := range u.count {
			r.usageRecords++
			amount := decimal.Decimal{}
			if j == 0 {
				amount = u.amount
			}
			req, _ := json.Marshal(map[string]any{"policy_test_usage": map[string]any{"case": c.name, "limit": u.limit, "key": u.key, "amount": amount.String()}})
			rec := store.Record{
				RequestID: fmt.Sprintf("policy-test:usage:%d", r.usageRecords), Version: "policy-test", Type: "USAGE",
				ReceivedAt: at, Request: req, Action: store.ActionApprove, Rule: "policy-test:usage", PolicyVersion: r.policyVersion,
			}
			stored, _, err := r.st.Commit(context.Background(), rec, []store.LimitUse{{Limit: u.limit, Key: u.key, Window: u.window, Amount: amount}})
			if err != nil {
				return fmt.Sprintf("usage (line %d): recording it: %v", u.line, err)
			}
			if stored.Action != store.ActionApprove {
				return fmt.Sprintf("usage (line %d): not recorded: %s", u.line, stored.Reason)
			}
		}
	}
	return ""
}
