package policy

import (
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// tx.message and tx.call: what a verified message or contract call says.
// Everything a rule could read but the verifier did not establish is an
// error value, never an empty string or a zero: a rule on a permit's
// spender must not pass on a message that is no permit, and a rule on a
// call's arguments must not pass on a call whose ABI is unknown.

// messageValue is tx.message: set only for a verified message signature.
func messageValue(v *protocol.Verification) ref.Val {
	if v == nil || !v.Verified || v.Message == nil {
		return types.NewErr("tx.message is only set for a verified message-signing KEYSIGN")
	}
	m := v.Message
	notTyped := func(field string) ref.Val {
		return types.NewErr("tx.message.%s is only set for EIP-712 typed data, and this is a %s message", field, m.Kind)
	}
	text, hexVal := ref.Val(types.String(m.Text)), ref.Val(types.String(m.Hex))
	if !m.TextValid {
		text = types.NewErr("tx.message.text is not set: the %s message is not valid UTF-8 text (read tx.message.hex)", m.Kind)
	}
	var domain, primary, message, undeclared, permit ref.Val
	if m.Kind == "eip712" {
		text = types.NewErr("tx.message.text is not set for EIP-712 typed data (read tx.message.message)")
		hexVal = types.NewErr("tx.message.hex is not set for EIP-712 typed data (read tx.message.message)")
		d := m.Domain
		domain = domainObject.newValue(types.String(d.Name), types.String(d.Version), types.String(d.ChainID),
			types.String(normalizeAddress(d.VerifyingContract)), types.String(d.Salt))
		primary = types.String(m.PrimaryType)
		message = canonicalToCEL(m.Message)
		undeclared = canonicalToCEL(m.Undeclared)
		if m.Undeclared == nil {
			undeclared = canonicalToCEL(map[string]any{})
		}
		permit = types.NewErr("tx.message.permit is not set: primary type %s is not a recognised permit", truncate(m.PrimaryType, 64))
		if p := m.Permit; p != nil {
			nonce := ref.Val(types.NewErr("tx.message.permit.nonce is not set: a PermitBatch has one nonce per token (tx.message.message.details)"))
			if p.NonceKnown {
				nonce = newDec(p.Nonce)
			}
			permit = permitObject.newValue(types.String(normalizeAddress(p.Spender)), stringList(p.Tokens, true),
				decimalList(p.Amounts), decimalList(p.Expirations), newDec(p.Deadline), types.String(normalizeAddress(p.Owner)), nonce)
		}
	} else {
		domain, primary, message, undeclared, permit = notTyped("domain"), notTyped("primary_type"), notTyped("message"), notTyped("undeclared"), notTyped("permit")
	}
	return messageObject.newValue(types.String(m.Kind), text, hexVal, types.String(normalizeAddress(m.Signer)),
		domain, primary, message, undeclared, permit, types.Bool(m.Unlimited))
}

// callValue is tx.call: set only for a verified contract call.
func callValue(v *protocol.Verification) ref.Val {
	if v == nil || !v.Verified || v.Call == nil {
		return types.NewErr("tx.call is only set for a verified contract call")
	}
	c := v.Call
	args := ref.Val(types.NewErr("tx.call.args is not set: selector %s is not in any ABI tssgate knows for this contract", c.Selector))
	if c.Args != nil {
		args = canonicalToCEL(c.Args)
	}
	// An unknown call's grants are unknown, not none: an error, so a
	// rule "no unlimited grant" cannot pass on a call tssgate cannot read.
	grants := ref.Val(types.NewErr("tx.call.grants is not set: selector %s is not in any ABI tssgate knows for this contract", c.Selector))
	if c.Args != nil {
		list := make([]ref.Val, len(c.Grants))
		for i, g := range c.Grants {
			list[i] = grantObject.newValue(types.String(normalizeAddress(g.Token)), types.String(normalizeAddress(g.Spender)),
				newDec(g.Amount), types.Bool(g.All), types.Bool(g.Revoke))
		}
		grants = types.NewRefValList(types.DefaultTypeAdapter, list)
	}
	return callObject.newValue(types.String(normalizeAddress(c.Contract)), types.String(c.Selector), types.String(c.Method),
		types.String(c.Signature), args, grants)
}

func decimalList(ds []decimal.Decimal) ref.Val {
	out := make([]ref.Val, len(ds))
	for i, d := range ds {
		out[i] = newDec(d)
	}
	return types.NewRefValList(types.DefaultTypeAdapter, out)
}

// canonicalToCEL converts the verifier's canonical values (string, bool,
// decimal.Decimal, []any, map[string]any, nil) into CEL values.
func canonicalToCEL(v any) ref.Val {
	switch x := v.(type) {
	case nil:
		return types.NullValue
	case string:
		return types.String(x)
	case bool:
		return types.Bool(x)
	case decimal.Decimal:
		return newDec(x)
	}
	if c, ok := containerToCEL(v, canonicalToCEL); ok {
		return c
	}
	return types.NewErr("unsupported value of Go type %T", v)
}
