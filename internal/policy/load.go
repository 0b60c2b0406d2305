package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	celparser "cel.dev/cel-go/parser"

	"tssgate/internal/protocol"
)

// Policy is a loaded, validated and compiled policy file. It is immutable
// and safe for concurrent use: every rule was compiled once at load into a
// program shared by all requests. It implements Decider.
type Policy struct {
	name          string // file name used in messages
	version       string
	serial        uint64 // the file's serial, 0 when it has none
	defaultAction protocol.Action
	verify        verifySpec
	rules         []*rule  // file order
	live          []*rule  // file order, mode live
	shadow        []*rule  // file order, mode shadow
	limits        []*limit // file order
	lists         *objectVal
	listSummaries []ListSummary
	// sources are the files compiled, with their full hashes (Sources).
	sources []SourceFile
	// files are the files the policy was built from (the policy file when
	// loaded by path, then its list files): what Watch polls.
	files []string
	// clock supplies `now`; tests replace it.
	clock func() time.Time
	// budget is the cost budget of one request's live rules (and, apart,
	// of its shadow rules); tests lower it.
	budget uint64
}

type rule struct {
	name   string
	line   int
	action protocol.Action
	shadow bool
	reason string // for reject rules: the given reason or a generated one
	prog   cel.Program
}

// Load reads, parses, validates and compiles the policy file at path. List
// files it names ({file: path}) resolve relative to the policy file's
// directory. Errors reading the policy file are returned as they are; a
// policy that is read but refused yields a *LoadError listing every
// problem, each with file and line ("policy.yaml:12: rule \"too-large\":
// when: ERROR: ...").
func Load(path string) (*Policy, error) {
	p, _, err := load(path)
	return p, err
}

// load is Load that also reports the files it read or tried to read, even
// on failure, so that Watch can notice when a missing list file appears.
func load(path string) (*Policy, []string, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, []string{path}, fmt.Errorf("reading policy: %w", err)
	}
	if err := displaySafePath(filepath.Base(path)); err != nil {
		return nil, []string{path}, fmt.Errorf("policy file name %q %v", filepath.Base(path), err)
	}
	pol, lists, err := parse(filepath.Base(path), data, filepath.Dir(path))
	files := append([]string{path}, lists...)
	if err != nil {
		return nil, files, err
	}
	pol.files = files
	return pol, files, nil
}

// Parse validates and compiles a policy from data. name is how errors refer
// to the file; list files resolve relative to baseDir. A refused policy
// yields a *LoadError.
func Parse(name string, data []byte, baseDir string) (*Policy, error) {
	p, _, err := parse(name, data, baseDir)
	return p, err
}

func parse(name string, data []byte, baseDir string) (*Policy, []string, error) {
	return parseWith(&parser{name: name, baseDir: baseDir}, data)
}

func parseWith(ps *parser, data []byte) (*Policy, []string, error) {
	name := ps.name
	spec := ps.parse(data)
	var listPaths []string
	for _, f := range ps.files {
		listPaths = append(listPaths, f.path)
	}
	if spec == nil || len(ps.issues) > 0 {
		return nil, listPaths, &LoadError{Issues: ps.issues}
	}
	pol, issues := compile(name, spec)
	if len(issues) > 0 {
		return nil, listPaths, &LoadError{Issues: issues}
	}
	pol.version = versionOf(data, ps.files)
	pol.sources = sourcesOf(name, data, ps.files)
	return pol, listPaths, nil
}

// SourceFile is one file a policy was built from: its name and the full
// SHA-256 of the exact bytes compiled. A signed manifest
// (internal/governance) is built from these, so what is signed is what
// runs, never a second read of the files.
type SourceFile struct {
	// Kind is "policy" for the policy file, "list" for a list file.
	Kind string
	// Name is the policy file's name (as given to Parse: the base name
	// for Load), or a list file's path as the policy writes it.
	Name string
	// SHA256 is the lower-case hex SHA-256 of the file's bytes.
	SHA256 string
}

// Sources returns the policy file and then every list file it names, in
// the order the policy names them, each with the full SHA-256 of the
// bytes this Policy was compiled from.
func (p *Policy) Sources() []SourceFile { return append([]SourceFile(nil), p.sources...) }

func sourcesOf(name string, data []byte, files []listFile) []SourceFile {
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	out := []SourceFile{{Kind: "policy", Name: name, SHA256: sum(data)}}
	for _, f := range files {
		out = append(out, SourceFile{Kind: "list", Name: f.written, SHA256: sum(f.data)})
	}
	return out
}

// compile builds the CEL environment and every rule's program.
func compile(name string, spec *fileSpec) (*Policy, []Issue) {
	var issues []Issue
	add := func(line int, rule, format string, args ...any) {
		issues = append(issues, Issue{File: name, Line: line, Rule: rule, Msg: fmt.Sprintf(format, args...)})
	}

	listNames := make([]string, len(spec.lists))
	sets := map[string]*stringSet{}
	pol := &Policy{name: name, serial: spec.serial, clock: time.Now, budget: requestCostBudget, defaultAction: protocol.ActionReject, verify: spec.verify}
	if spec.defaultAction == actionApprove {
		pol.defaultAction = protocol.ActionApprove
	}
	for i, l := range spec.lists {
		listNames[i] = l.name
		set := newStringSet(l.entries)
		sets[l.name] = set
		pol.listSummaries = append(pol.listSummaries, ListSummary{Name: l.name, Size: len(set.keys), File: l.file})
	}
	listsObj := newListsObject(listNames)
	vals := make([]ref.Val, len(listsObj.names))
	for i, n := range listsObj.names {
		vals[i] = sets[n]
	}
	pol.lists = listsObj.newValue(vals...)

	env, err := newEnv(listsObj)
	if err != nil {
		add(0, "", "building the CEL environment: %v", err)
		return nil, issues
	}
	opts := programOptions()
	for _, rs := range spec.rules {
		prog, msg := compileWhen(env, rs.when, sets)
		if msg != "" {
			add(rs.whenLine, rs.name, "when: %s", msg)
			continue
		}
		r := &rule{name: rs.name, line: rs.line, action: protocol.ActionApprove, shadow: rs.mode == ModeShadow}
		if rs.action == actionReject {
			r.action = protocol.ActionReject
			r.reason = rs.reason
			if r.reason == "" {
				r.reason = fmt.Sprintf("rejected by policy rule %q", rs.name)
			}
		}
		r.prog, err = env.Program(prog, opts...)
		if err != nil {
			add(rs.whenLine, rs.name, "when: %v", err)
			continue
		}
		pol.rules = append(pol.rules, r)
		if r.shadow {
			pol.shadow = append(pol.shadow, r)
		} else {
			pol.live = append(pol.live, r)
		}
	}
	ruleNames := map[string]bool{}
	for _, r := range spec.rules {
		ruleNames[r.name] = true
	}
	pol.limits = compileLimits(env, spec.limits, ruleNames, sets, opts, add)
	if len(issues) > 0 {
		return nil, issues
	}
	return pol, nil
}

// compileWhen type-checks one expression and returns its checked AST, or a
// message saying why it is refused.
func compileWhen(env *cel.Env, when string, lists map[string]*stringSet) (*cel.Ast, string) {
	src := common.NewStringSource(when, "when")
	checked, iss := env.CompileSource(src)
	if iss.Err() != nil {
		// An unknown list name shows up as an undefined field on
		// tssgate.Lists; say it plainly.
		if parsed, piss := env.ParseSource(src); piss.Err() == nil {
			if msg := unknownLists(parsed, lists); msg != "" {
				return nil, msg
			}
		}
		return nil, iss.Err().Error()
	}
	switch out := checked.OutputType(); {
	case out.IsExactType(cel.BoolType), out.IsExactType(cel.DynType):
		// dyn (for example a value from detail) is checked at run time.
	default:
		return nil, fmt.Sprintf("must be a bool expression, but it is %s", out)
	}
	if msg := badDecimalLiterals(checked); msg != "" {
		return nil, msg
	}
	if msg := structLiterals(checked); msg != "" {
		return nil, msg
	}
	if msg := mixedDecimalEquality(checked); msg != "" {
		return nil, msg
	}
	if msg := upperCaseLiterals(env, checked); msg != "" {
		return nil, msg
	}
	return checked, ""
}

// upperCaseLiterals refuses string constants that can never equal the
// value they are compared with: a constant spelling an EVM address with
// upper case ("0x" and 40 hex digits, EIP-55 checksummed as block
// explorers show it), a 64-hex-digit hash with upper case, a bech32 or
// CashAddr address in anything but lower case (BIP-173 and CashAddr allow
// the upper-case form, QR codes carry it), or a CashAddr address without
// its "bitcoincash:" prefix (addressSpelling). tssgate gives every such
// fact in its one canonical spelling (tx addresses, msg_hashes), but a
// constant is compared exactly: `d.address == "0x47F9…"` or `d.address in
// ["0x47F9…"]` would load and never be true, so a deny rule written that
// way would never fire.
//
// Every string constant is checked, wherever it stands (a literal list, a
// map key, a ternary branch), except where the spelling sent is the one to
// match (exemptConstants): the direct partner of ==, != or in, or the
// text a string function (contains, startsWith, endsWith, matches) reads,
// is a value kept as sent (a path into detail, extra or tx.message.text,
// or a comprehension variable ranging over one, unless shadowed:
// text.contains("0x47F9…") on a Sign-In with Ethereum message), and then
// also the elements, keys and branches of a literal list, map or ternary
// standing there; the constant is an operand of + (a limit key's bucket
// name; what + builds from constants alone is evaluated and checked); or
// it is an EVM address probing lists.NAME, whose lookup normalizes it. A
// pattern of matches anchored on both ends (^…$) is checked without its
// anchors. A string built from constants alone (a literal split across +,
// string(b"…")) is evaluated and checked whole; one that cannot be
// evaluated refuses the expression.
func upperCaseLiterals(env *cel.Env, a *cel.Ast) string {
	native := a.NativeRep()
	exempt := exemptConstants(native.Expr())
	var msgs []string
	refuse := func(e ast.Expr, s string) {
		what, want := addressSpelling(s)
		if what == "" {
			return
		}
		where := ""
		if loc := native.SourceInfo().GetStartLocation(e.ID()); loc.Line() > 0 {
			where = fmt.Sprintf(" (when:%d:%d)", loc.Line(), loc.Column()+1)
		}
		msgs = append(msgs, fmt.Sprintf("%q is %s, but tssgate shows these in one spelling and a constant is compared exactly, so it would never match: write %q%s",
			truncate(s, 70), what, want, where))
	}
	ast.PreOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if exempt[e.ID()] {
			return
		}
		switch e.Kind() {
		case ast.LiteralKind:
			if s, ok := e.AsLiteral().(types.String); ok {
				refuse(e, string(s))
			}
		case ast.CallKind:
			// A pattern anchored on both ends is one exact spelling.
			if c := e.AsCall(); c.FunctionName() == "matches" && len(c.Args()) == 1 && c.Args()[0].Kind() == ast.LiteralKind && !exempt[c.Args()[0].ID()] {
				if p, ok := c.Args()[0].AsLiteral().(types.String); ok && strings.HasPrefix(string(p), "^") && strings.HasSuffix(string(p), "$") {
					refuse(c.Args()[0], string(p)[1:len(p)-1])
				}
			}
			// A string built from constants alone ("0x47F9" + "…",
			// string(b"…")) is evaluated and checked whole.
			if !native.GetType(e.ID()).IsExactType(types.StringType) || !constantExpr(e) {
				return
			}
			s, err := evalConstant(env, e, native.SourceInfo())
			if err != nil {
				msgs = append(msgs, fmt.Sprintf("a constant string cannot be evaluated: %v", err))
				return
			}
			refuse(e, s)
		}
	}))
	return strings.Join(msgs, "; ")
}

// constantExpr reports whether e reads no variable: only literals and
// calls, lists and maps of them.
func constantExpr(e ast.Expr) bool {
	constant := true
	ast.PreOrderVisit(e, ast.NewExprVisitor(func(x ast.Expr) {
		switch x.Kind() {
		case ast.LiteralKind, ast.CallKind, ast.ListKind, ast.MapKind:
		default:
			constant = false
		}
	}))
	return constant
}

// evalConstant evaluates e, an expression constantExpr accepts, in env.
func evalConstant(env *cel.Env, e ast.Expr, info *ast.SourceInfo) (string, error) {
	src, err := celparser.Unparse(e, info)
	if err != nil {
		return "", err
	}
	checked, iss := env.Compile(src)
	if iss.Err() != nil {
		return "", iss.Err()
	}
	prg, err := env.Program(checked)
	if err != nil {
		return "", err
	}
	v, _, err := prg.Eval(cel.NoVars())
	if err != nil {
		return "", fmt.Errorf("%s: %v", truncate(src, 70), err)
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("%s is not a string", truncate(src, 70))
	}
	return s, nil
}

// keptAsSentVars are the variables whose values rules see as the node sent
// them (tx.message.text, the other such value, is a field: keptAsSent).
var keptAsSentVars = []string{"detail", "extra"}

// textFunctions are the functions whose string operands are text, matched
// as written.
var textFunctions = map[string]bool{"contains": true, "startsWith": true, "endsWith": true, "matches": true}

// exemptConstants returns the ids of the expressions of root whose
// constants upperCaseLiterals leaves alone (its doc says which).
func exemptConstants(root ast.Expr) map[int64]bool {
	exempt := map[int64]bool{}
	// lit exempts e and the constants it passes on whole: a list's
	// elements, a map's keys, a ternary's branches.
	var lit func(e ast.Expr)
	lit = func(e ast.Expr) {
		exempt[e.ID()] = true
		switch e.Kind() {
		case ast.ListKind:
			for _, el := range e.AsList().Elements() {
				lit(el)
			}
		case ast.MapKind:
			for _, en := range e.AsMap().Entries() {
				lit(en.AsMapEntry().Key())
			}
		case ast.CallKind:
			if c := e.AsCall(); c.FunctionName() == operators.Conditional && len(c.Args()) == 3 {
				lit(c.Args()[1])
				lit(c.Args()[2])
			}
		}
	}
	var walk func(e ast.Expr, kept map[string]bool)
	walk = func(e ast.Expr, kept map[string]bool) {
		switch e.Kind() {
		case ast.CallKind:
			c := e.AsCall()
			args := c.Args()
			switch fn := c.FunctionName(); {
			case (fn == operators.Equals || fn == operators.NotEquals) && len(args) == 2:
				if keptAsSent(args[1], kept) {
					lit(args[0])
				}
				if keptAsSent(args[0], kept) {
					lit(args[1])
				}
			case fn == operators.In && len(args) == 2:
				if keptAsSent(args[1], kept) {
					lit(args[0])
				}
				if k := args[1].Kind(); (k == ast.ListKind || k == ast.MapKind) && keptAsSent(args[0], kept) {
					lit(args[1])
				}
				if selectedFrom(args[1], "lists") != "" && args[0].Kind() == ast.LiteralKind {
					if s, ok := args[0].AsLiteral().(types.String); ok && normalizeAddress(string(s)) != string(s) {
						lit(args[0]) // the set normalizes an EVM probe
					}
				}
			case fn == operators.Add:
				// Concatenation builds text or a limit key's bucket name;
				// a string it builds from constants alone is evaluated and
				// checked whole.
				for _, arg := range args {
					lit(arg)
				}
			case textFunctions[fn] && c.IsMemberFunction() && len(args) == 1:
				// text.contains("0x47F9…") matches as sent only when the
				// text is kept as sent; on a normalized fact it never can.
				if keptAsSent(c.Target(), kept) {
					lit(args[0])
				}
				if keptAsSent(args[0], kept) {
					lit(c.Target())
				}
			}
			if c.IsMemberFunction() {
				walk(c.Target(), kept)
			}
			for _, arg := range args {
				walk(arg, kept)
			}
		case ast.ComprehensionKind:
			cp := e.AsComprehension()
			walk(cp.IterRange(), kept)
			walk(cp.AccuInit(), kept)
			// The loop's variables shadow outer ones of the same name:
			// kept only when its own range is.
			rangeKept := keptAsSent(cp.IterRange(), kept)
			inner := make(map[string]bool, len(kept)+2)
			for k, v := range kept {
				inner[k] = v // a shadowing false stays false in nested loops
			}
			vars := []string{cp.IterVar()}
			if cp.HasIterVar2() {
				vars = append(vars, cp.IterVar2())
			}
			for _, v := range vars {
				inner[v] = rangeKept // shadows an outer variable, detail and tx included
			}
			inner[cp.AccuVar()] = false
			walk(cp.LoopCondition(), inner)
			walk(cp.LoopStep(), inner)
			walk(cp.Result(), inner)
		case ast.ListKind:
			for _, el := range e.AsList().Elements() {
				walk(el, kept)
			}
		case ast.MapKind:
			for _, en := range e.AsMap().Entries() {
				me := en.AsMapEntry()
				walk(me.Key(), kept)
				walk(me.Value(), kept)
			}
		case ast.SelectKind:
			walk(e.AsSelect().Operand(), kept)
		case ast.StructKind:
			for _, f := range e.AsStruct().Fields() {
				walk(f.AsStructField().Value(), kept)
			}
		}
	}
	kept := map[string]bool{}
	for _, v := range keptAsSentVars {
		kept[v] = true
	}
	walk(root, kept)
	return exempt
}

// keptAsSent reports whether e is a path (field selections and indexes)
// into a value kept as sent: rooted at a variable kept marks true (detail
// and extra, unless a loop variable shadows them, and loop variables over
// such a value), or passing through tx.message.text (unless a loop
// variable shadows tx). A mere mention elsewhere in e (a ternary, a
// filter) does not count.
func keptAsSent(e ast.Expr, kept map[string]bool) bool {
	for {
		switch e.Kind() {
		case ast.IdentKind:
			return kept[e.AsIdent()]
		case ast.ListKind:
			// [detail.to, detail.from]: kept when every element is.
			els := e.AsList().Elements()
			for _, el := range els {
				if !keptAsSent(el, kept) {
					return false
				}
			}
			return len(els) > 0
		case ast.SelectKind:
			sel := e.AsSelect()
			if _, shadowed := kept["tx"]; !shadowed && sel.FieldName() == "text" && selectedFrom(sel.Operand(), "tx") == "message" {
				return true
			}
			e = sel.Operand()
		case ast.CallKind:
			c := e.AsCall()
			if c.FunctionName() != operators.Index || len(c.Args()) != 2 {
				return false
			}
			e = c.Args()[0]
		default:
			return false
		}
	}
}

// selectedFrom returns field when e is ident.field, and "" otherwise.
func selectedFrom(e ast.Expr, ident string) string {
	if e.Kind() != ast.SelectKind {
		return ""
	}
	if op := e.AsSelect().Operand(); op.Kind() != ast.IdentKind || op.AsIdent() != ident {
		return ""
	}
	return e.AsSelect().FieldName()
}

// unknownLists finds lists.NAME references to lists the policy lacks.
func unknownLists(a *cel.Ast, lists map[string]*stringSet) string {
	native := a.NativeRep()
	var msgs []string
	ast.PreOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.SelectKind {
			return
		}
		sel := e.AsSelect()
		if op := sel.Operand(); op.Kind() != ast.IdentKind || op.AsIdent() != "lists" {
			return
		}
		if _, ok := lists[sel.FieldName()]; ok {
			return
		}
		loc := native.SourceInfo().GetStartLocation(e.ID())
		msgs = append(msgs, fmt.Sprintf("unknown list %q (when:%d:%d); known lists: %s",
			sel.FieldName(), loc.Line(), loc.Column()+1, knownLists(lists)))
	}))
	return strings.Join(msgs, "; ")
}

func knownLists(lists map[string]*stringSet) string {
	if len(lists) == 0 {
		return "none"
	}
	names := make([]string, 0, len(lists))
	for n := range lists {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// badDecimalLiterals checks decimal("...") calls on string literals at load,
// so that a typo in a cap ("1OO") is a load error rather than a rule that
// errors (and so rejects) on every request.
func badDecimalLiterals(a *cel.Ast) string {
	native := a.NativeRep()
	var msgs []string
	ast.PreOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.CallKind {
			return
		}
		call := e.AsCall()
		if call.FunctionName() != "decimal" || call.IsMemberFunction() || len(call.Args()) != 1 {
			return
		}
		arg := call.Args()[0]
		if arg.Kind() != ast.LiteralKind {
			return
		}
		s, ok := arg.AsLiteral().(types.String)
		if !ok {
			return
		}
		if v := parseDecimalVal(s); types.IsError(v) {
			loc := native.SourceInfo().GetStartLocation(e.ID())
			msgs = append(msgs, fmt.Sprintf("%v (when:%d:%d)", v, loc.Line(), loc.Column()+1))
		}
	}))
	return strings.Join(msgs, "; ")
}

// mixedDecimalEquality refuses == and != between a decimal and a value
// whose type is only known at run time (detail.x, extra.y). CEL compares
// such values by the left operand's own equality, so an int on the left is
// simply "not equal" to any decimal: `detail.n != decimal("0")` would be
// true for n = 0, a silent mistake in exactly the direction that approves.
// Converting explicitly (decimal(detail.n)) makes it exact, or an error.
func mixedDecimalEquality(a *cel.Ast) string {
	native := a.NativeRep()
	var msgs []string
	ast.PreOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.CallKind {
			return
		}
		call := e.AsCall()
		if (call.FunctionName() != operators.Equals && call.FunctionName() != operators.NotEquals) || len(call.Args()) != 2 {
			return
		}
		l, r := native.GetType(call.Args()[0].ID()), native.GetType(call.Args()[1].ID())
		if l.IsExactType(decimalType) == r.IsExactType(decimalType) {
			return
		}
		loc := native.SourceInfo().GetStartLocation(e.ID())
		msgs = append(msgs, fmt.Sprintf("comparing a decimal with %s %s: convert it first, e.g. decimal(detail.x) (when:%d:%d)",
			map[bool]*types.Type{true: r, false: l}[l.IsExactType(decimalType)], call.FunctionName(), loc.Line(), loc.Column()+1))
	}))
	return strings.Join(msgs, "; ")
}

// structLiterals refuses object construction (tssgate.Request{...}, or a
// protobuf message): a policy reads the request, it has no use for
// building objects, and a forged request object could only confuse.
func structLiterals(a *cel.Ast) string {
	native := a.NativeRep()
	var msgs []string
	ast.PreOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.StructKind {
			return
		}
		loc := native.SourceInfo().GetStartLocation(e.ID())
		msgs = append(msgs, fmt.Sprintf("creating %s values is not supported (when:%d:%d)",
			e.AsStruct().TypeName(), loc.Line(), loc.Column()+1))
	}))
	return strings.Join(msgs, "; ")
}

// Version identifies the policy's content: "sha256:" and the first 16 hex
// digits of a SHA-256 over the policy file's bytes and the bytes of every
// list file it loaded. Every Decision carries it.
func (p *Policy) Version() string { return p.version }

// Serial is the policy file's serial (its top-level "serial: N"), 0 when
// the file has none. The policy package only parses it; with governance,
// serve requires one and refuses a serial lower than one already recorded
// (a rollback to an older signed policy), see the README's "Changing the
// policy".
func (p *Policy) Serial() uint64 { return p.serial }

// Summary describes a loaded policy for `tssgate policy check`.
type Summary struct {
	Name    string          // the policy's file name
	Version string          // as Version returns
	Serial  uint64          // as Serial returns; 0: none
	Default protocol.Action // APPROVE or REJECT
	Rules   []RuleSummary   // file order
	Lists   []ListSummary   // file order
	Limits  []LimitSummary  // file order
	// Warnings are entries that load but have no effect ("file:line:
	// what"), e.g. verify: {tokens: {BTC: optional}} now that BTC is
	// verified.
	Warnings []string
}

// LimitSummary describes one velocity limit.
type LimitSummary struct {
	Name      string
	Window    time.Duration
	MaxAmount string // "" when there is no amount cap
	MaxCount  int64  // 0 when there is no count cap
}

// RuleSummary describes one rule.
type RuleSummary struct {
	Name   string
	Line   int             // line of the rule in the policy file
	Action protocol.Action // APPROVE or REJECT
	Mode   string          // ModeLive or ModeShadow
}

// ListSummary describes one list. Size counts distinct entries after
// normalization.
type ListSummary struct {
	Name string
	Size int
	File string // the list file's path, or "" for an inline list
}

// Summary returns the policy's rules, lists, default and version.
func (p *Policy) Summary() Summary {
	s := Summary{Name: p.name, Version: p.version, Serial: p.serial, Default: p.defaultAction, Warnings: append([]string(nil), p.verify.warnings...)}
	for _, r := range p.rules {
		mode := ModeLive
		if r.shadow {
			mode = ModeShadow
		}
		s.Rules = append(s.Rules, RuleSummary{Name: r.name, Line: r.line, Action: r.action, Mode: mode})
	}
	s.Lists = append(s.Lists, p.listSummaries...)
	for _, l := range p.limits {
		ls := LimitSummary{Name: l.name, Window: l.window, MaxCount: l.maxCount}
		if l.maxAmount != nil {
			ls.MaxAmount = l.maxAmount.String()
		}
		s.Limits = append(s.Limits, ls)
	}
	return s
}

// Windows returns each limit's window by name, for reporting usage.
func (p *Policy) Windows() map[string]time.Duration {
	w := make(map[string]time.Duration, len(p.limits))
	for _, l := range p.limits {
		w[l.name] = l.window
	}
	return w
}

// String renders the summary as `policy check` prints it.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "policy %s\nversion %s\n", s.Name, s.Version)
	if s.Serial > 0 {
		fmt.Fprintf(&b, "serial %d\n", s.Serial)
	} else {
		b.WriteString("serial none (required when governance is configured)\n")
	}
	fmt.Fprintf(&b, "default %s\n", s.Default)
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	fmt.Fprintf(&b, "rules (%d, evaluated in order; the first live match decides):\n", len(s.Rules))
	for i, r := range s.Rules {
		fmt.Fprintf(&b, "  %3d. %-7s %-6s %s (line %d)\n", i+1, r.Action, r.Mode, r.Name, r.Line)
	}
	fmt.Fprintf(&b, "lists (%d):\n", len(s.Lists))
	for _, l := range s.Lists {
		src := "inline"
		if l.File != "" {
			src = l.File
		}
		fmt.Fprintf(&b, "  %s: %d entries (%s)\n", l.Name, l.Size, src)
	}
	if len(s.Limits) > 0 {
		fmt.Fprintf(&b, "limits (%d, checked after an approval):\n", len(s.Limits))
		for _, l := range s.Limits {
			var caps []string
			if l.MaxAmount != "" {
				caps = append(caps, "max amount "+l.MaxAmount)
			}
			if l.MaxCount > 0 {
				caps = append(caps, fmt.Sprintf("max count %d", l.MaxCount))
			}
			fmt.Fprintf(&b, "  %s: %s per %s\n", l.Name, strings.Join(caps, ", "), l.Window)
		}
	}
	return b.String()
}
