package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/types"
	"gopkg.in/yaml.v3"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// Velocity limits cap what approvals may add up to over a rolling window:
//
//	limits:
//	  - name: eth-daily
//	    when: request.type == "KEYSIGN" && tx.token_id == "ETH"   # which approvals count
//	    key: [tx.wallet_id, tx.token_id]    # CEL; one running total per distinct key
//	    window: 24h                          # rolling
//	    max_amount: "100"                    # exact decimal, over `amount`
//	    amount: tx.amount                    # CEL decimal; default tx.amount
//	    max_count: 50
//
// The policy only says which limits an approval would consume (Decision.Limits);
// the store checks and records them atomically with the decision, because
// only the store knows what earlier approvals used.

type limitSpec struct {
	name       string
	line       int
	when       string
	whenLine   int
	keys       []string
	keyLines   []int
	amount     string
	amountLine int
	window     time.Duration
	maxAmount  *decimal.Decimal
	maxCount   int64
}

type limit struct {
	name string
	when cel.Program
	keys []cel.Program
	// keyKinds is each key expression's static type, "string", "int" or
	// "dyn" (known only when evaluated): policy tests refuse a stated
	// usage key of another type, which would count under a ledger key the
	// policy never builds.
	keyKinds  []string
	amount    cel.Program
	window    time.Duration
	maxAmount *decimal.Decimal
	maxCount  int64
}

// maxWindow bounds a limit's window: longer windows are a configuration
// mistake more often than a policy.
const maxWindow = 366 * 24 * time.Hour

func (p *parser) parseLimits(n *yaml.Node) []limitSpec {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.addf(n.Line, "", "", "limits: must be a list of limits, got %s", describeNode(n))
		return nil
	}
	var out []limitSpec
	names := map[string]int{}
	for i, ln := range n.Content {
		ln = deref(ln)
		if ln.Kind != yaml.MappingNode {
			p.addf(ln.Line, "", "", "limits[%d]: must be a mapping with name, when, key, window and a maximum, got %s", i, describeNode(ln))
			continue
		}
		l := limitSpec{line: ln.Line, amount: "tx.amount", amountLine: ln.Line}
		for j := 0; j+1 < len(ln.Content); j += 2 {
			if deref(ln.Content[j]).Value == "name" {
				l.name, _ = scalarString(deref(ln.Content[j+1]))
			}
		}
		label := "limit " + l.name
		if l.name == "" {
			label = fmt.Sprintf("limits[%d]", i)
		}
		issue := func(line int, format string, args ...any) {
			p.addf(line, "", "", "%s: %s", label, fmt.Sprintf(format, args...))
		}
		saw := map[string]bool{}
		mapping(ln, []string{"name", "description", "when", "key", "window", "max_amount", "max_count", "amount"},
			func(line int, msg string) { issue(line, "%s", msg) },
			func(key string, _, v *yaml.Node) {
				saw[key] = true
				if key == "key" {
					if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
						issue(v.Line, "key: must be a non-empty list of CEL expressions, got %s", describeNode(v))
						return
					}
					for _, kn := range v.Content {
						kn = deref(kn)
						ks, ok := scalarString(kn)
						if !ok || strings.TrimSpace(ks) == "" {
							issue(kn.Line, "key: each entry must be a CEL expression, got %s", describeNode(kn))
							continue
						}
						l.keys = append(l.keys, ks)
						l.keyLines = append(l.keyLines, kn.Line)
					}
					return
				}
				if key == "max_count" {
					if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
						issue(v.Line, "max_count: must be a whole number, got %s", describeNode(v))
						return
					}
					var c int64
					if _, err := fmt.Sscan(v.Value, &c); err != nil || c < 1 {
						issue(v.Line, "max_count: must be at least 1, got %s", v.Value)
						return
					}
					l.maxCount = c
					return
				}
				s, ok := scalarString(v)
				if !ok {
					issue(v.Line, "%s: must be a string, got %s (quote amounts: \"100\")", key, describeNode(v))
					return
				}
				switch key {
				case "name":
					if msg := checkName(s, "limit", v.Line, names); msg != "" {
						issue(v.Line, "%s", msg)
					}
				case "when":
					l.when, l.whenLine = s, v.Line
				case "amount":
					l.amount, l.amountLine = s, v.Line
				case "window":
					d, err := time.ParseDuration(s)
					if err != nil || d <= 0 || d > maxWindow {
						issue(v.Line, "window: must be a positive duration up to %s (e.g. 24h), got %q", maxWindow, s)
						return
					}
					l.window = d
				case "max_amount":
					d, err := decimal.Parse(s)
					if err != nil || d.Sign() < 0 {
						issue(v.Line, "max_amount: must be a non-negative decimal, got %q", s)
						return
					}
					l.maxAmount = &d
				}
			})
		for _, req := range []string{"name", "when", "key", "window"} {
			if !saw[req] {
				issue(ln.Line, "%s: missing", req)
			}
		}
		if !saw["max_amount"] && !saw["max_count"] {
			issue(ln.Line, "give max_amount, max_count or both")
		}
		out = append(out, l)
	}
	return out
}

// compileLimits compiles every limit's expressions; issues name the limit
// and the line.
func compileLimits(env *cel.Env, specs []limitSpec, ruleNames map[string]bool, sets map[string]*stringSet, opts []cel.ProgramOption, add func(line int, rule, format string, args ...any)) []*limit {
	var out []*limit
	for _, ls := range specs {
		label := "limit " + ls.name
		if ruleNames[ls.name] {
			add(ls.line, "", "%s: name: a rule has the same name; decisions must say unambiguously what decided", label)
			continue
		}
		l := &limit{name: ls.name, window: ls.window, maxAmount: ls.maxAmount, maxCount: ls.maxCount}
		ok := true
		compile := func(src, field string, line int, check func(*cel.Ast) string) cel.Program {
			var ast *cel.Ast
			var msg string
			if field == "when" {
				ast, msg = compileWhen(env, src, sets)
			} else {
				var iss *cel.Issues
				ast, iss = env.CompileSource(common.NewStringSource(src, field))
				if iss.Err() != nil {
					msg = iss.Err().Error()
				} else if msg = check(ast); msg == "" {
					msg = upperCaseLiterals(env, ast)
				}
			}
			if msg != "" {
				add(line, "", "%s: %s: %s", label, field, msg)
				ok = false
				return nil
			}
			prog, err := env.Program(ast, opts...)
			if err != nil {
				add(line, "", "%s: %s: %v", label, field, err)
				ok = false
			}
			return prog
		}
		l.when = compile(ls.when, "when", ls.whenLine, nil)
		for i, k := range ls.keys {
			l.keys = append(l.keys, compile(k, "key", ls.keyLines[i], func(a *cel.Ast) string {
				switch t := a.OutputType(); {
				case t.IsExactType(cel.StringType):
					l.keyKinds = append(l.keyKinds, "string")
					return ""
				case t.IsExactType(cel.IntType):
					l.keyKinds = append(l.keyKinds, "int")
					return ""
				case t.IsExactType(cel.DynType):
					l.keyKinds = append(l.keyKinds, "dyn")
					return ""
				default:
					return fmt.Sprintf("must be a string or int expression, but it is %s", t)
				}
			}))
		}
		l.amount = compile(ls.amount, "amount", ls.amountLine, func(a *cel.Ast) string {
			if t := a.OutputType(); t.IsExactType(decimalType) || t.IsExactType(cel.DynType) {
				return ""
			}
			return fmt.Sprintf("must be a decimal expression (e.g. tx.amount), but it is %s", a.OutputType())
		})
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// limitUses evaluates the limits for an approval. A limit that errors
// turns the decision into a REJECT naming it (fail closed: an approval is
// never granted outside a limit because the limit could not be computed).
// maxLimitKeyBytes bounds a limit key as recorded; a longer key is
// recorded as "sha256:" and the hex SHA-256 of its JSON form.
const maxLimitKeyBytes = 256

func (p *Policy) limitUses(ctx context.Context, act *activation) ([]LimitUse, *Decision, error) {
	var uses []LimitUse
	budget := p.budget
	reject := func(l *limit, err error) ([]LimitUse, *Decision, error) {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, fmt.Errorf("policy: evaluating limit %q: %w", l.name, ctxErr)
		}
		return nil, &Decision{
			Action: protocol.ActionReject,
			Rule:   l.name,
			Reason: fmt.Sprintf("limit %q errored: %s", l.name, truncate(err.Error(), maxErrorText)),
		}, nil
	}
	for _, l := range p.limits {
		use, matched, err := evalLimit(ctx, act, l, &budget)
		if err != nil {
			return reject(l, err)
		}
		if matched {
			uses = append(uses, use)
		}
	}
	return uses, nil, nil
}

// evalLimit evaluates one limit for act: whether it applies (when), and
// if so its use (key, amount). err says why the limit could not be
// evaluated.
func evalLimit(ctx context.Context, act *activation, l *limit, budget *uint64) (LimitUse, bool, error) {
	matched, err := (&rule{prog: l.when}).eval(ctx, act, budget)
	if err != nil || !matched {
		return LimitUse{}, false, err
	}
	parts := make([]any, len(l.keys))
	for i, k := range l.keys {
		out, _, err := k.ContextEval(ctx, act)
		if err != nil {
			return LimitUse{}, false, fmt.Errorf("key[%d]: %w", i, err)
		}
		switch v := out.(type) {
		case types.String:
			parts[i] = string(v)
		case types.Int:
			parts[i] = int64(v)
		default:
			return LimitUse{}, false, fmt.Errorf("key[%d] evaluated to %s, not string or int", i, out.Type().TypeName())
		}
	}
	key, err := limitKey(parts)
	if err != nil {
		return LimitUse{}, false, err
	}
	out, _, err := l.amount.ContextEval(ctx, act)
	if err != nil {
		return LimitUse{}, false, fmt.Errorf("amount: %w", err)
	}
	amt, ok := out.(decVal)
	if !ok {
		return LimitUse{}, false, fmt.Errorf("amount evaluated to %s, not decimal", out.Type().TypeName())
	}
	if amt.d.Sign() < 0 {
		return LimitUse{}, false, fmt.Errorf("amount %s is negative", amt.d)
	}
	if _, err := decimal.Parse(amt.d.String()); err != nil {
		// The ledger keeps amounts as text it must read back; an
		// amount it could not (a v1 description choosing 150
		// decimals) is a recorded REJECT, not an unrecordable approval.
		return LimitUse{}, false, fmt.Errorf("amount cannot be recorded in the limit ledger: %v", err)
	}
	return LimitUse{Limit: l.name, Key: key, Window: l.window, Amount: amt.d, MaxAmount: l.maxAmount, MaxCount: l.maxCount}, true, nil
}

// limitKey is the ledger key of a limit's key values (strings and int64s):
// their JSON array, or, when that is longer than maxLimitKeyBytes,
// "sha256:" and the hex SHA-256 of it. A key can hold described values of
// any size (a 4 KB wallet_id); the ledger indexes keys, and an index entry
// has a size limit. The hash keeps one bucket per value.
func limitKey(parts []any) (string, error) {
	key, err := json.Marshal(parts)
	if err != nil {
		return "", err
	}
	if len(key) > maxLimitKeyBytes {
		sum := sha256.Sum256(key)
		return "sha256:" + hex.EncodeToString(sum[:]), nil
	}
	return string(key), nil
}

// LimitUses returns the velocity limits an approval of req would consume
// under p, whatever p's rules decide for it: what `tssgate policy replay`
// counts for the approvals recorded before the replayed period, under the
// candidate's limits, keys and amounts. req is evaluated at its
// ReceivedAt (which must be set) with its Verification as the pipeline
// set it. failed names the limits that apply but could not be evaluated
// for req (a when, key or amount that errors: p would have rejected the
// approval by that limit, so it consumes nothing under it). err is for a
// done ctx, a request without its received time, or an internal failure.
func (p *Policy) LimitUses(ctx context.Context, req *protocol.Request) (uses []LimitUse, failed []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			uses, failed, err = nil, nil, fmt.Errorf("policy: internal error evaluating limits: %v", r)
		}
	}()
	if req == nil || req.ReceivedAt.IsZero() {
		return nil, nil, fmt.Errorf("policy: LimitUses needs a request with its received time")
	}
	act := newActivation(req, req.ReceivedAt, p.lists)
	budget := p.budget
	for _, l := range p.limits {
		use, matched, err := evalLimit(ctx, act, l, &budget)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, fmt.Errorf("policy: evaluating limit %q: %w", l.name, ctxErr)
		}
		switch {
		case err != nil:
			failed = append(failed, l.name)
		case matched:
			uses = append(uses, use)
		}
	}
	return uses, failed, nil
}
